"""The API application factory: no module-level app, no work at import.

`build_app` makes a FastAPI app with `/healthz`, `/openapi.json` and `/api/v1`.
`smp.server.create_app` adds the web UI to it; the scheduler runs in the
lifespan, so it starts and stops with the server.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy import Engine

from smp.api.auth import UNAUTHENTICATED, bearer, token_user
from smp.api.limits import RequestLimits
from smp.api.problems import (
    ApiProblem,
    Problem,
    install_problem_handlers,
    problem_responses,
)
from smp.api.routes import (
    alert_channels,
    api_keys,
    audit,
    data,
    exports,
    findings,
    integrations,
    people,
    review_evidence,
    reviews,
    runs,
    service_accounts,
    users,
)
from smp.model.users import User
from smp.runtime.alerting import AlertRounds
from smp.runtime.in_process import SyncRunner, schedule_forever
from smp.runtime.server_config import ServerConfig
from smp.runtime.server_state import AppState, app_state
from smp.storage import SecretBox
from smp.sync import SyncContext

API_PREFIX = "/api/v1"
CookieAuth = Callable[[Request], User | None]


def _api_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX, responses=problem_responses(400, 401, 422))
    modules = (integrations, service_accounts, data, runs, exports, users, people)
    extra = (api_keys, findings, alert_channels, reviews, review_evidence, audit)
    for module in (*modules, *extra):
        router.include_router(module.router)
    return router


def _openapi_route(app: FastAPI) -> None:
    async def openapi(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),  # noqa: B008
    ) -> dict[str, Any]:
        state = app_state(request)
        user = token_user(state, credentials.credentials) if credentials else None
        if user is None and state.cookie_auth is not None:
            user = state.cookie_auth(request)
        if user is None:
            raise ApiProblem(
                401, "sign in or send a bearer token", headers=UNAUTHENTICATED
            )
        return app.openapi()

    app.add_api_route("/openapi.json", openapi, include_in_schema=False)


def build_app(
    engine: Engine,
    box: SecretBox,
    context: SyncContext,
    *,
    scheduler: bool = True,
    config: ServerConfig | None = None,
    uploads: Mapping[str, int] | None = None,
) -> FastAPI:
    """`uploads`: paths that take a file, and the larger body each may have."""
    settings = config or ServerConfig()
    runner = SyncRunner(engine, box, context)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = None
        if scheduler:
            task = asyncio.create_task(
                schedule_forever(
                    runner,
                    engine,
                    tick_s=settings.scheduler_tick_s,
                    default_interval_s=settings.default_sync_interval_s,
                    now=context.now,
                    alerts=AlertRounds(engine, box),
                ),
                name="smp-scheduler",
            )
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await runner.aclose()

    app = FastAPI(
        title="SMP",
        summary="SaaS Management Platform: what SMP collected from SendGrid.",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.smp = AppState(engine, box, context, settings, runner)
    install_problem_handlers(app)
    app.add_middleware(
        RequestLimits,
        max_body_bytes=settings.max_body_bytes,
        api_prefix=API_PREFIX,
        uploads=uploads,
    )

    @app.get(
        "/healthz",
        tags=["health"],
        include_in_schema=True,
        summary="Check that the server is up",
    )
    def healthz() -> dict[str, str]:
        """Liveness; the only route without authentication."""
        return {"status": "ok"}

    app.include_router(_api_router())
    _openapi_route(app)
    _ = Problem  # registered in the schema through the responses above
    return app
