"""The SCIM 2.0 ASGI app, mounted by `smp.server` at /scim/v2.

scim2-server's ASGIApplication serves the protocol over `PeopleStorage`;
this subclass adds what SMP needs around it: the SCIM token (checked in a
worker thread, since the database is synchronous), a body limit answered as a
SCIM error, and URLs relative to where it is mounted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, cast

from scim2_models import PayloadTooLargeException
from scim2_server.applications.asgi import ASGIApplication, Receive, Scope, Send
from scim2_server.requests import ScimRequest
from scim2_server.responses import ScimResponse
from scim2_server.service import ScimService
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp

from smp.scim.auth import authenticate
from smp.scim.people_storage import ACTING, PeopleStorage
from smp.scim.provider import scim_provider, user_model
from smp.services.audit import Actor

MOUNT_PATH = "/scim/v2"
# A user is a few KB even with every attribute filled; the server's own
# limit (max_body_bytes) is larger and answers above it without SCIM's shape.
MAX_BODY_BYTES = 32 * 1024


class ScimApp(ASGIApplication):
    def __init__(self, engine: Engine, *, now: Callable[[], dt.datetime]) -> None:
        provider = scim_provider()
        storage = PeopleStorage(engine, user_model(provider), now=now)
        # No secret: it only seals cursors, which SMP does not declare.
        super().__init__(storage, provider, ScimService(provider))
        self.engine = engine
        self.now = now

    @staticmethod
    def get_base_url(scope: dict[str, Any]) -> str:
        """The SCIM root as the client sees it: where this app is mounted.

        scim2-server adds "/v2" to the root path; the mount already has it.
        """
        headers = dict(scope["headers"])
        host = headers.get(b"host", b"").decode("latin-1")
        if not host and scope.get("server"):
            host = "{}:{}".format(*scope["server"])
        return f"{scope['scheme']}://{host}{scope.get('root_path', '')}"

    @staticmethod
    async def send_response(response: ScimResponse, send: Send) -> None:
        """Send with lowercase header names, as ASGI asks.

        scim2-server writes "Cache-Control"; the server's headers middleware
        looks for "cache-control" and would add a second, conflicting one.
        """

        async def lowercased(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    (name.lower(), value) for name, value in message["headers"]
                ]
            await send(message)

        await ASGIApplication.send_response(response, lowercased)

    async def dispatch_request(self, request: ScimRequest) -> ScimResponse:
        if len(request.body) > MAX_BODY_BYTES:
            raise PayloadTooLargeException(
                detail=f"the body is larger than {MAX_BODY_BYTES} bytes"
            )
        if self.needs_auth(request):
            token = await run_in_threadpool(
                authenticate, self.engine, request.header("Authorization"), self.now
            )
            # The storage's writes run in this task: they read it for the trail.
            ACTING.set(Actor(token.label, str(request.subject or "unknown")))
        return await self.handler.handle(request)

    async def read_request(self, scope: Scope, receive: Receive) -> ScimRequest:
        """The SCIM request, its `subject` the client address (for the trail)."""
        request = await super().read_request(scope, receive)
        client = scope.get("client")
        request.subject = client[0] if client else None
        return request


def build_scim_app(engine: Engine, *, now: Callable[[], dt.datetime]) -> ASGIApp:
    """The app to mount; scim2-server types its ASGI messages as plain dicts."""
    return cast(ASGIApp, ScimApp(engine, now=now))
