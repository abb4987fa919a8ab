"""A full sync against the in-process simulator equals the world's ground truth."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tests.support.simulator import ROLE, Setup, connect_world, wire_up

from smp.model import KeyStatus, MemberStatus, Outcome
from smp.simulator import generate_world
from smp.storage import (
    current_usage,
    list_invoices,
    list_members,
    list_monthly_volumes,
    list_service_accounts,
    list_subusers,
)
from smp.sync import ProcessWriter
from smp.sync.engine import run_sync


@pytest.fixture(scope="module")
def process_writer(engine: Engine) -> Iterator[ProcessWriter]:
    writer = ProcessWriter(engine)
    assert writer.pid != os.getpid()  # ready: every write goes to the process
    yield writer
    writer.close()


@pytest.fixture(params=["thread", "process"])
def setup(request: pytest.FixtureRequest, engine: Engine) -> Setup:
    """Every write goes through the writer thread, or through the writer process
    (its own engine on the same database, the jobs pickled): the same truth."""
    world = generate_world(seed=7, accounts=1, teammates=120, pending=4, subusers=12)
    wired = wire_up(world, engine)
    if request.param == "process":
        wired.context.writer = request.getfixturevalue("process_writer")
    return wired


async def _connect_and_sync(setup: Setup, name: str) -> int:
    iid = await connect_world(setup, f"{name} ({type(setup.context.writer).__name__})")
    report = await run_sync(setup.engine, setup.box, iid, setup.context)
    assert report.outcome is Outcome.OK, report.to_json()
    return iid


async def test_members_invites_and_roles_equal_the_world(setup: Setup) -> None:
    iid = await _connect_and_sync(setup, "members truth")
    account = setup.world.accounts[0]
    with Session(setup.engine) as session:
        active = list_members(session, iid, status=MemberStatus.ACTIVE)
        pending = list_members(session, iid, status=MemberStatus.PENDING)
    assert {
        (m.username, m.email, m.role, m.first_name, m.last_name) for m in active
    } == {
        (
            t["username"],
            t["email"],
            ROLE[t["user_type"]],
            t["first_name"],
            t["last_name"],
        )
        for t in account.teammates
    }
    assert {m.email for m in pending} == {p["email"] for p in account.pending}
    expiry = {
        p["email"]: dt.datetime.fromtimestamp(p["expiration_date"], dt.UTC)
        for p in account.pending
    }
    for member in pending:
        stored = member.invite_expires_at
        assert stored is not None
        assert stored.replace(tzinfo=dt.UTC) == expiry[member.email]


async def test_usage_subusers_volume_and_invoices_equal_the_world(
    setup: Setup,
) -> None:
    iid = await _connect_and_sync(setup, "usage truth")
    account = setup.world.accounts[0]
    with Session(setup.engine) as session:
        usage = current_usage(session, iid)
        subusers = list_subusers(session, iid)
        invoices = list_invoices(session, iid)
        volumes = list_monthly_volumes(session, iid)
    assert usage is not None
    assert usage.period.used == account.credits["used"]
    assert usage.period.total == account.credits["total"]
    assert usage.utilization == pytest.approx(
        account.credits["used"] / account.credits["total"]
    )
    assert {s.username: s.credits_used for s in subusers} == {
        s.username: s.credits["used"] for s in account.subusers
    }
    assert {i.invoice_id: i.amount for i in invoices} == {
        str(i["id"]): Decimal(str(i["amount"])) for i in account.invoices
    }
    requests_by_month: dict[dt.date, int] = {}
    for day in account.daily_stats:
        month = dt.date.fromisoformat(day["date"]).replace(day=1)
        requests_by_month[month] = (
            requests_by_month.get(month, 0) + day["metrics"]["requests"]
        )
    stored = {v.month: v.metrics.requests for v in volumes if v.subuser is None}
    for month, requests in requests_by_month.items():
        assert stored[month] == requests
    assert sum(stored.values()) == sum(requests_by_month.values())


async def test_both_keys_end_ok_and_note_their_capabilities(setup: Setup) -> None:
    iid = await _connect_and_sync(setup, "keys ok")
    with Session(setup.engine) as session:
        keys = list_service_accounts(session, iid)
    assert [k.status for k in keys] == [KeyStatus.OK, KeyStatus.OK]
    assert "invoices" in keys[1].capabilities
    assert "invoices" not in keys[0].capabilities
