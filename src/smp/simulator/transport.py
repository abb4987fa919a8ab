"""In-process httpx transport that fails the way a socket client would."""

from __future__ import annotations

import httpx

from smp.simulator.asgi import AsgiApp, Serves, SimulatedReset, SimulatedTimeout


class SimulatorTransport(httpx.AsyncBaseTransport):
    """Wraps httpx.ASGITransport; turns simulated resets and hangs into errors."""

    def __init__(self, sim: Serves) -> None:
        self._inner = httpx.ASGITransport(app=AsgiApp(sim, in_process=True))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except SimulatedReset:
            raise httpx.ReadError("connection reset by peer", request=request) from None
        except SimulatedTimeout:
            raise httpx.ReadTimeout("timed out (simulated)", request=request) from None

    async def aclose(self) -> None:
        await self._inner.aclose()
