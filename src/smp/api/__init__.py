"""REST API (FastAPI) under `/api/v1`: bearer tokens, problem details, pagination.

`build_app(engine, box, context, *, scheduler=True, config=None)` returns the
API-only app; `smp.web.create_app` adds the web UI to it.
"""

from __future__ import annotations

from smp.api.app import API_PREFIX, build_app
from smp.api.config import ServerConfig

__all__ = ["API_PREFIX", "ServerConfig", "build_app"]
