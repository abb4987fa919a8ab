"""Serve the built-in simulator on 127.0.0.1 from a background thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from smp.simulator import Simulator


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_simulator(sim: Simulator, port: int | None = None) -> Iterator[str]:
    """Yield the simulator's base URL while it serves real HTTP on loopback."""
    with serve_app(sim.app, port, name="the simulator") as base_url:
        yield base_url


@contextmanager
def serve_app(app: Any, port: int | None = None, *, name: str) -> Iterator[str]:
    """Yield the base URL of an ASGI app served by uvicorn on 127.0.0.1."""
    import uvicorn  # here: commands that serve nothing start faster

    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name=f"smp {name}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"{name} did not start on 127.0.0.1:{port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
