"""Invoices SendGrid does not provide (ADR 3): `unavailable`, not a failure.

`/v3/billing/invoices` is undocumented: a 404, a 403 or an answer in a shape
SMP does not know may be SendGrid's normal answer to a billing key. The sync
then keeps the invoices it has, leaves the key healthy and still succeeds;
a real fault (a 503 that outlasts the retries) still fails invoices.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tests.support.corpus import Spoiler
from tests.support.simulator import Setup, synced, wire_up
from tests.support.truth import expected, stored

from smp.model import KeyStatus, Outcome
from smp.simulator import FaultRule, generate_world
from smp.storage import get_sync_run, list_service_accounts
from smp.sync import run_sync

INVOICES = "/v3/billing/invoices"


@pytest.fixture
def setup(engine: Engine) -> Setup:
    world = generate_world(seed=21, accounts=1, teammates=8, pending=2, subusers=2)
    return wire_up(world, engine)


async def _synced(setup: Setup, name: str) -> int:
    """An integration with the full and billing keys, synced once with invoices."""
    iid = await synced(setup, name)
    assert stored(setup.engine, iid)["invoices"]
    return iid


def _status(code: int) -> Callable[[Setup], None]:
    def spoil(setup: Setup) -> None:
        setup.sim.add_fault(FaultRule(kind="status", status=code, path=INVOICES))

    return spoil


def _reshaped(case: str) -> Callable[[Setup], None]:
    """Every invoices answer rewritten by a case of the bad-input corpus."""

    def spoil(setup: Setup) -> None:
        inner = setup.context.transport_factory
        assert inner is not None
        setup.context.transport_factory = lambda: Spoiler(inner(), INVOICES, case)

    return spoil


NOT_PROVIDED = {
    "404": _status(404),
    "403": _status(403),
    # `{}`: an object with no list under any key SMP knows.
    "no known list": _reshaped("missing_fields"),
    # A list of invoices whose fields are all null: none has an id.
    "invoices without an id": _reshaped("nulls"),
}


@pytest.mark.parametrize("answer", sorted(NOT_PROVIDED))
async def test_invoices_not_provided_are_unavailable_and_the_sync_succeeds(
    setup: Setup, answer: str
) -> None:
    iid = await _synced(setup, f"unavailable {answer}")
    NOT_PROVIDED[answer](setup)
    report = await run_sync(setup.engine, setup.box, iid, setup.context)
    invoices = report.capabilities["invoices"]
    assert invoices.outcome is Outcome.UNAVAILABLE
    assert (invoices.error or "").startswith(
        f"SendGrid did not provide invoices to this key (GET {INVOICES}"
    ), invoices.error
    # No e-mail validation key is connected: that one is skipped.
    others = {
        c: r.outcome
        for c, r in report.capabilities.items()
        if c not in ("invoices", "email_validation")
    }
    assert set(others.values()) == {Outcome.OK}, report.to_json()
    assert report.outcome is Outcome.OK
    assert report.errors == []
    assert report.key_problems == {}
    assert not report.transient
    assert not report.database_failed
    # Members, usage and volume equal the world; the earlier invoices are kept.
    assert stored(setup.engine, iid) == expected(setup.world.accounts[0])
    with Session(setup.engine) as session:
        keys = list_service_accounts(session, iid)
        run = get_sync_run(session, report.run_id)
    assert [(k.kind.value, k.status, k.last_error) for k in keys] == [
        ("full", KeyStatus.OK, None),
        ("billing", KeyStatus.OK, None),
    ]
    assert run.outcome is Outcome.OK
    assert run.errors == ()
    assert run.capabilities["invoices"]["outcome"] == "unavailable"


async def test_a_server_fault_on_invoices_still_fails_them(setup: Setup) -> None:
    """Only "no such data" is unavailable: a 503 is a fault, retried later."""
    iid = await _synced(setup, "invoices 503")
    before = stored(setup.engine, iid)["invoices"]
    _status(503)(setup)
    report = await run_sync(setup.engine, setup.box, iid, setup.context)
    assert report.capabilities["invoices"].outcome is Outcome.FAILED
    assert report.outcome is Outcome.FAILED
    assert report.transient == {"invoices"}
    assert stored(setup.engine, iid)["invoices"] == before
    with Session(setup.engine) as session:
        billing = list_service_accounts(session, iid)[1]
    assert billing.status is KeyStatus.NEEDS_ATTENTION
    assert "HTTP 503" in (billing.last_error or "")
