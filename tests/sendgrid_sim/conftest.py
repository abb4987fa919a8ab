"""Fixtures: a small world with a free account, a simulator on a fake clock."""

from __future__ import annotations

import pytest
from tests.support.fakes import FakeClock
from tests.support.simulator import SIM_EPOCH, make_sim

from smp.simulator import Simulator, World, generate_world


@pytest.fixture(scope="session")
def world() -> World:
    # Three accounts: the third is on the free plan (one teammate, no subusers).
    # 43 teammates do not divide by the page sizes the tests use, so the last
    # page is short and paging has to stop on it.
    return generate_world(
        seed=11, accounts=3, teammates=43, pending=4, subusers=4, months=3, invoices=7
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(SIM_EPOCH)


@pytest.fixture
def sim(world: World, clock: FakeClock) -> Simulator:
    return make_sim(world, clock)
