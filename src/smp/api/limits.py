"""ASGI guard in front of the app: bounded bodies, and JSON only on the API's writes.

Too large a body is a 413 problem and a non-JSON API body a 415 problem, before
any handler or form parser reads it. A file upload's path (the web's directory
import) may be given a larger limit of its own; every other body keeps the small one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smp.api.problems import PROBLEM_TYPE, TITLES

BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


async def _send_problem(send: Send, status: int, detail: str) -> None:
    body = json.dumps(
        {
            "type": "about:blank",
            "title": TITLES[status],
            "status": status,
            "detail": detail,
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestLimits:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        api_prefix: str,
        uploads: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.api_prefix = api_prefix
        # Exact paths that take a file, and the largest body each accepts.
        self.uploads = dict(uploads or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1")
            for k, v in scope["headers"]
        }
        limit = self.uploads.get(scope["path"], self.max_body_bytes)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _send_problem(send, 413, self._too_large(limit))
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _send_problem(send, 413, self._too_large(limit))
                return
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if (
            body
            and scope["path"].startswith(self.api_prefix)
            and media != "application/json"
        ):
            await _send_problem(send, 415, "send the body as application/json")
            return
        await self.app(scope, _replay(body, receive), send)

    def _too_large(self, limit: int) -> str:
        return f"the body is larger than {limit} bytes"


def _replay(body: bytes, receive_more: Receive) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        # After the body, pass on what the connection says next (its disconnect).
        return await receive_more()

    return receive
