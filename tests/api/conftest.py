"""Fixtures: the API tests' client of the module's server app."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from tests.support.app import Server, asgi_client


@pytest.fixture
async def client(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(server) as opened:
        yield opened
