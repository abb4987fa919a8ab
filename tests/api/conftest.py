"""Fixtures: a server app per database, and one integration connected and synced."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import Engine
from tests.api.appkit import Server, make_server


@pytest.fixture(scope="module")
def server(engine: Engine) -> Server:
    return make_server(engine)


def asgi_client(srv: Server) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=srv.app), base_url="http://testserver"
    )


def slot_of(kind: str) -> str:
    return "billing" if kind == "billing" else "access"


async def connect_and_sync(
    srv: Server, name: str, kinds: tuple[str, ...] = ("full", "billing")
) -> int:
    """Connect the world's keys of `kinds` and wait for the first sync."""
    async with asgi_client(srv) as client:
        answer = await client.post(
            "/api/v1/integrations",
            headers=srv.auth(srv.admin_token),
            json={
                "name": name,
                "keys": [
                    {"label": kind, "key": srv.key(kind), "slot": slot_of(kind)}
                    for kind in kinds
                ],
                "billing_account_confirmed": "billing" in kinds,
            },
        )
        assert answer.status_code == 201, answer.text
        integration_id = int(answer.json()["integration"]["id"])
        await srv.app.state.smp.syncs.wait(integration_id)
    return integration_id


@pytest.fixture(scope="module")
def synced(server: Server) -> int:
    """The id of an integration connected with the world's full and billing keys."""
    return asyncio.run(connect_and_sync(server, "Synced"))


@pytest.fixture
async def client(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(server) as opened:
        yield opened
