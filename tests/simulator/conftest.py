"""Fixtures: a small world, its simulator, and an in-process httpx client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from smp.simulator import SimKey, Simulator, World, generate_world


@pytest.fixture(scope="session")
def world() -> World:
    return generate_world(seed=1, accounts=2, teammates=30, pending=3, subusers=3)


@pytest.fixture
def sim(world: World) -> Simulator:
    return Simulator(world, fault_seed=7)


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=sim.transport(), base_url="https://api.sendgrid.com"
    ) as c:
        yield c


def key_of(world: World, kind: str, account: int = 0) -> SimKey:
    username = world.accounts[account].username
    return next(k for k in world.keys if k.account == username and k.kind == kind)


def auth(key: SimKey) -> dict[str, str]:
    return {"Authorization": f"Bearer {key.key}"}
