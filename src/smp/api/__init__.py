"""REST API (FastAPI) under `/api/v1`: bearer tokens, problem details, pagination.

`smp.api.app.build_app(engine, box, context, *, scheduler=True, config=None)`
returns the API-only app; `smp.web.create_app` adds the web UI to it.
"""

from __future__ import annotations

from smp.api.config import ServerConfig

# `build_app` and `API_PREFIX` live in `smp.api.app`: importing this package
# (e.g. for `smp.api.convert`) should not load FastAPI.
__all__ = ["ServerConfig"]
