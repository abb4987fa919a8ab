"""A simulator world, an SMP database and a context wired to each other in process."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tests.sendgrid.fakes import FakeClock

from smp.model import Outcome, Role
from smp.sendgrid import RetryPolicy
from smp.simulator import Account, SimKey, Simulator, World
from smp.storage import SecretBox, delete_integration, generate_key
from smp.storage.accounts import account_holder
from smp.storage.integrations import key_holder
from smp.sync import Slot
from smp.sync.context import SyncContext
from smp.sync.engine import run_sync
from smp.sync.key_onboarding import NewKey, connect

BASE_URL = "https://sim.invalid"
# The world's keys are each of one account: tests vouch for the billing key.
CONFIRMED_BY = "the test (its world's keys)"
# The simulator's user_type -> the role SMP must store (the ground truth).
ROLE = {"owner": Role.OWNER, "admin": Role.ADMIN, "teammate": Role.USER}


def key_of(world: World, kind: str, account: Account | None = None) -> SimKey:
    username = (account or world.accounts[0]).username
    return next(k for k in world.keys if k.account == username and k.kind == kind)


def new_key(world: World, kind: str, account: Account | None = None) -> NewKey:
    """The world's key of `kind`, in the slot it belongs in."""
    slot = Slot.BILLING if kind == "billing" else Slot.ACCESS
    return NewKey(label=kind, raw=key_of(world, kind, account).key, slot=slot)


@dataclass
class Setup:
    world: World
    sim: Simulator
    engine: Engine
    box: SecretBox
    context: SyncContext


def wire_up(world: World, engine: Engine, **sim_options: object) -> Setup:
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
        policy=RetryPolicy(rng=lambda: 0.0),
        now=lambda: now,
    )
    return Setup(world, sim, engine, SecretBox.from_key(generate_key()), context)


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
