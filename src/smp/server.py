"""The composition root: one ASGI app holding the REST API and the web UI.

The API (`smp.api`) and the web (`smp.web`) never import each other; this
module puts them in one app and wires the web's cookie sign-in into the API's
`/openapi.json`, through the server state both read.
"""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from smp.api.app import build_app
from smp.runtime.server_config import ServerConfig
from smp.scim.app import MOUNT_PATH, build_scim_app
from smp.storage import SecretBox
from smp.sync import SyncContext
from smp.web.app import install_web
from smp.web.pages_people import UPLOADS
from smp.web.session import cookie_user


def create_app(
    engine: Engine,
    box: SecretBox,
    context: SyncContext,
    *,
    scheduler: bool = True,
    config: ServerConfig | None = None,
) -> FastAPI:
    """The whole server: `/api/v1`, `/scim/v2`, `/openapi.json`, `/docs`, `/healthz`
    and the UI."""
    app = build_app(
        engine, box, context, scheduler=scheduler, config=config, uploads=UPLOADS
    )
    app.state.smp.cookie_auth = cookie_user
    # SCIM 2.0 for identity providers; its own tokens, errors and body limit.
    app.mount(MOUNT_PATH, build_scim_app(engine, now=context.now))
    install_web(app)
    return app
