"""What the simulator's app, control surface and in-process transport share.

ASGI types, a reply, the request log, the simulated connection faults and the
ASGI callable live here, so those three modules import this one, not each other.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Protocol

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
JSON_TYPE = b"application/json"


class SimulatedReset(Exception):
    """The simulator drops the connection (in-process: httpx.ReadError)."""


class SimulatedTimeout(Exception):
    """The simulator never answers (in-process: httpx.ReadTimeout)."""


@dataclass(slots=True)
class Reply:
    status: int
    body: bytes
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    content_type: bytes = JSON_TYPE


@dataclass(slots=True)
class LoggedRequest:
    """One request as the simulator saw it; `status` is None when it never answered."""

    method: str
    path: str
    query: str
    params: dict[str, list[str]]
    key_id: str | None
    on_behalf_of: str | None
    status: int | None
    fault: str | None = None
    at: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "key_id": self.key_id,
            "on_behalf_of": self.on_behalf_of,
            "status": self.status,
            "fault": self.fault,
            "at": self.at,
        }


class Serves(Protocol):
    """Anything that answers ASGI requests the simulator's way (the `Simulator`)."""

    async def asgi(
        self, scope: Scope, receive: Receive, send: Send, *, in_process: bool
    ) -> None: ...


class AsgiApp:
    """An ASGI 3 callable (a class, so servers detect the interface reliably)."""

    def __init__(self, sim: Serves, *, in_process: bool) -> None:
        self.sim = sim
        self.in_process = in_process

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.sim.asgi(scope, receive, send, in_process=self.in_process)
