"""The one way the tests wire the simulator to SMP.

`wire_up` connects SMP to the simulator in process (httpx's ASGI transport):
fast, and the world's clock is the test's. `serve_simulator` puts the same simulator on
real loopback HTTP, for the tests of what crosses the network (the CLI, the
server processes). `client_for` is the SendGrid client alone on the in-process
transport, for the tests of the client and the simulator.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tests.support.fakes import FakeClock
from tests.support.keys import CONFIRMED_BY, key_of, new_key

from smp.cli import loopback
from smp.model import Outcome, Role
from smp.sendgrid import ApiKey, RetryPolicy, SendGridClient
from smp.services.onboarding import connect
from smp.simulator import SimKey, Simulator, World
from smp.storage import SecretBox, delete_integration, generate_key
from smp.storage.accounts import account_holder
from smp.storage.integrations import key_holder
from smp.sync.context import SyncContext
from smp.sync.engine import run_sync

__all__ = [
    "BASE_URL",
    "CONFIRMED_BY",
    "ROLE",
    "SIM_EPOCH",
    "InProcess",
    "Setup",
    "client_for",
    "connect_world",
    "forget_world",
    "in_process",
    "key_of",
    "make_sim",
    "new_key",
    "serve_simulator",
    "synced",
    "wire_up",
]

BASE_URL = "https://sim.invalid"
# The simulator's user_type -> the role SMP must store (the ground truth).
ROLE = {"owner": Role.OWNER, "admin": Role.ADMIN, "teammate": Role.USER}
# A fixed point for the simulated wall clock: whole seconds, so `Reset` headers
# (rounded up to a second by SendGrid and the simulator) are exact.
SIM_EPOCH = 1_800_000_000.0


@dataclass
class InProcess:
    """The simulator, the fake clock it shares with SMP, and SMP's sync context."""

    sim: Simulator
    clock: FakeClock
    context: SyncContext


def in_process(
    world: World, *, policy: RetryPolicy | None = None, **sim_options: object
) -> InProcess:
    """SMP's sync context on the simulator of `world`, in process."""
    clock = FakeClock()
    today = world.today_date()
    # SMP's "now" is the world's today at noon and the simulator's date is
    # pinned to it, so ground truth never drifts, whatever day the test runs.
    now = dt.datetime.combine(today, dt.time(12), tzinfo=dt.UTC)
    options = {"today": today, **sim_options}
    sim = Simulator(world, rate_limit=None, clock=clock.wall, **options)  # type: ignore[arg-type]
    context = SyncContext(
        transport_factory=sim.transport,
        clock=clock,
        policy=policy or RetryPolicy(rng=lambda: 0.0),
        now=lambda: now,
    )
    return InProcess(sim, clock, context)


@dataclass
class Setup:
    world: World
    sim: Simulator
    engine: Engine
    box: SecretBox
    context: SyncContext


def wire_up(world: World, engine: Engine, **sim_options: object) -> Setup:
    """`in_process`, with the SMP database and a master key of the test's own."""
    wired = in_process(world, **sim_options)
    box = SecretBox.from_key(generate_key())
    return Setup(world, wired.sim, engine, box, wired.context)


@contextmanager
def serve_simulator(sim: Simulator) -> Iterator[str]:
    """Serve `sim` over real HTTP on a free loopback port; yield its base URL."""
    with loopback.serve_simulator(sim) as base_url:
        yield base_url


def make_sim(world: World, clock: FakeClock, **options: Any) -> Simulator:
    """A simulator that shares the test's fake wall clock (for its windows)."""
    return Simulator(world, clock=clock.wall, fault_seed=3, **options)


def client_for(
    sim: Simulator,
    key: SimKey,
    clock: FakeClock,
    *,
    policy: RetryPolicy | None = None,
) -> SendGridClient:
    """SMP's SendGrid client with `key`, on `sim` in process."""
    return SendGridClient(
        ApiKey.parse(key.key),
        base_url="https://api.sendgrid.com",
        transport=sim.transport(),
        clock=clock,
        policy=policy or RetryPolicy(rng=lambda: 0.0),
    )


def forget_world(engine: Engine, world: World) -> None:
    """Delete what earlier tests connected of this world's accounts and keys.

    One SendGrid account is one integration, and the tests of a module share a
    database: a test that connects its world afresh drops the older ones first.
    """
    with Session(engine) as session, session.begin():
        for account in world.accounts:
            while holder := account_holder(session, account.username, account.user_id):
                delete_integration(session, holder.id)
        for key in world.keys:
            if holder := key_holder(session, key.key_id):
                delete_integration(session, holder.id)


async def connect_world(
    setup: Setup, name: str, kinds: tuple[str, ...] = ("full", "billing")
) -> int:
    """A fresh integration of the world's first account with its keys of `kinds`."""
    forget_world(setup.engine, setup.world)
    integration, _ = await connect(
        setup.engine,
        setup.box,
        name,
        [new_key(setup.world, kind) for kind in kinds],
        setup.context,
        base_url=BASE_URL,
        billing_confirmed_by=CONFIRMED_BY,
    )
    return integration.id


async def synced(setup: Setup, name: str) -> int:
    """An integration with the full and billing keys, synced once, all OK."""
    iid = await connect_world(setup, name)
    report = await run_sync(setup.engine, setup.box, iid, setup.context)
    assert report.outcome is Outcome.OK, report.to_json()
    return iid
