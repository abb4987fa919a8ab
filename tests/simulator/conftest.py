"""Fixtures: a small world, its simulator, and an in-process httpx client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from smp.simulator import Simulator, World, generate_world


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
