"""`install_web`: the server-rendered UI, its static files and charts, on a given app.

Plotly's JavaScript is served from the installed `plotly` package, so the UI
works offline and nothing is loaded from a CDN.
"""

from __future__ import annotations

import importlib.util
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from smp.web import (
    pages_account,
    pages_alert_settings,
    pages_api_keys,
    pages_audit,
    pages_auth,
    pages_dashboard,
    pages_docs,
    pages_findings,
    pages_integrations,
    pages_people,
    pages_reviews,
    pages_settings,
    pages_users,
)
from smp.web.headers import SecurityHeaders
from smp.web.rendering import Pages
from smp.web.session import (
    LoginRequired,
    Refused,
    SignedIn,
    session_user,
)


def plotly_js() -> Path:
    """The minified Plotly bundle inside the installed `plotly` package."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or spec.origin is None:
        raise RuntimeError("the plotly package (the UI's charts) is not installed")
    return Path(spec.origin).with_name("package_data") / "plotly.min.js"


def _install_page_errors(app: FastAPI, pages: Pages) -> None:
    async def on_login_required(_request: Request, _error: Exception) -> Response:
        return RedirectResponse("/login", status_code=303)

    async def on_refused(request: Request, error: Exception) -> Response:
        assert isinstance(error, Refused)
        found = session_user(request)
        who = None
        if found is not None:
            who = SignedIn(found[0], found[1], request.app.state.smp)
        return pages.render(
            request,
            "error.html",
            who,
            status=error.status,
            message=error.message,
            code=error.status,
        )

    app.add_exception_handler(LoginRequired, on_login_required)
    app.add_exception_handler(Refused, on_refused)


def install_web(app: FastAPI) -> None:
    """Add the pages, static files, page errors and security headers to `app`.

    `app.state.smp` must already hold the server state (`smp.runtime.server_state`);
    `smp.server.create_app` builds the app with it and then calls this.
    """
    pages = Pages()
    app.state.pages = pages
    _install_page_errors(app, pages)
    static = resources.files("smp.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    js = plotly_js()

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly_bundle() -> FileResponse:
        return FileResponse(
            js,
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    for module in (
        pages_auth,
        pages_integrations,
        pages_settings,
        pages_dashboard,
        pages_users,
        pages_account,
        pages_docs,
        pages_people,
        pages_api_keys,
        pages_findings,
        pages_alert_settings,
        pages_audit,
        pages_reviews,
    ):
        app.include_router(module.router)
    app.add_middleware(SecurityHeaders)
