"""A value too long for its column fails only its capability, as bad data.

SQLite keeps a text of any length and PostgreSQL refuses it with a DataError.
Storage holds texts to their columns before sending them, so both databases
fail alike, naming the field and its limit; a DataError that still comes is
bad data as well. Neither is a database outage: no retry would help.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session
from tests.support.simulator import Setup, synced, wire_up
from tests.support.truth import expected, stored

from smp.model import KeyStatus, Outcome
from smp.simulator import generate_world
from smp.storage import list_invoices, list_service_accounts
from smp.storage.tables import InvoiceRow
from smp.sync import ProcessWriter, ThreadWriter, run_sync
from smp.sync.sanity import UnusableAnswer
from smp.sync.write_jobs import Job, WriteTarget, Written

# The module, not the function `smp.storage.upsert` that shadows it.
upsert_module = importlib.import_module("smp.storage.upsert")
LONG_CURRENCY = "US Dollar"
CURRENCY_LIMIT = InvoiceRow.__table__.c.currency.type.length  # type: ignore[attr-defined]


def _world_setup(engine: Engine) -> Setup:
    world = generate_world(
        seed=31, accounts=1, teammates=8, pending=2, subusers=2, invoices=4
    )
    return wire_up(world, engine)


@pytest.fixture(params=["thread", "process"])
def setup(request: pytest.FixtureRequest, engine: Engine) -> Iterator[Setup]:
    """Writes on the writer thread, or in the writer process (the error then
    comes back pickled): the same failure."""
    wired = _world_setup(engine)
    if request.param == "thread":
        yield wired
        return
    writer = ProcessWriter(engine)
    assert writer.pid != os.getpid()  # ready: every write goes to the process
    wired.context.writer = writer
    yield wired
    writer.close()


async def _resync_with_long_currency(setup: Setup, name: str) -> tuple[int, object]:
    """Synced once; then SendGrid spells one invoice's currency out."""
    iid = await synced(setup, name)
    with Session(setup.engine) as session:
        before = list_invoices(session, iid)
    assert len(before) == len(setup.world.accounts[0].invoices) > 0
    assert len(LONG_CURRENCY) > CURRENCY_LIMIT
    setup.world.accounts[0].invoices[0]["currency"] = LONG_CURRENCY
    setup.sim.replace_world(setup.world)
    report = await run_sync(setup.engine, setup.box, iid, setup.context)
    # No e-mail validation key is connected: that one is skipped.
    others = {
        c: r.outcome
        for c, r in report.capabilities.items()
        if c not in ("invoices", "email_validation")
    }
    assert set(others.values()) == {Outcome.OK}, report.to_json()
    assert report.capabilities["invoices"].outcome is Outcome.FAILED
    assert not report.database_failed
    assert not report.transient
    assert report.key_problems == {}
    with Session(setup.engine) as session:
        assert list_invoices(session, iid) == before  # kept, currency and all
        keys = list_service_accounts(session, iid)
    assert [k.status for k in keys] == [KeyStatus.OK, KeyStatus.OK]
    # Members, invites, subusers, credits and volume equal the world.
    assert stored(setup.engine, iid) == expected(setup.world.accounts[0])
    return iid, report.capabilities["invoices"].error


async def test_a_text_too_long_for_its_column_fails_only_that_capability(
    setup: Setup,
) -> None:
    writer = type(setup.context.writer).__name__
    _, error = await _resync_with_long_currency(setup, f"long currency {writer}")
    assert error == (
        f"invoices: unusable value: currency is {len(LONG_CURRENCY)} characters "
        f"long (at most {CURRENCY_LIMIT})"
    )


def _insert_unchecked(session: Session, currency: str, scope: WriteTarget) -> Written:
    """An invoice written past storage's length check, as a new write path might."""
    session.execute(
        insert(InvoiceRow),
        [
            {
                "integration_id": scope.integration_id,
                "invoice_id": "unchecked-1",
                "currency": currency,
                "first_seen": scope.now,
                "synced_at": scope.now,
            }
        ],
    )
    return Written(1)


# PostgreSQL only: SQLite stores any length, it raises no DataError to classify.
@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
async def test_the_databases_own_refusal_is_bad_data_not_an_outage(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    refusal = (
        "invoices: the database refused a value: value too long for type "
        f"character varying({CURRENCY_LIMIT})"
    )
    setup = _world_setup(engine)
    # Without storage's check (the writer thread runs in this process), the
    # database refuses the value itself: StringDataRightTruncation.
    monkeypatch.setattr(upsert_module, "check_lengths", lambda *_: None)
    iid, error = await _resync_with_long_currency(setup, "refused currency")
    assert error == refusal
    # From the writer process, too, it comes back as bad data.
    scope = WriteTarget(iid, 1, 1, setup.context.now())
    job = Job("invoices", _insert_unchecked, LONG_CURRENCY, scope)
    for writer in (ThreadWriter(), ProcessWriter(engine)):
        try:
            with pytest.raises(UnusableAnswer) as refused:
                await writer.write(engine, job)
        finally:
            writer.close()
        assert str(refused.value) == refusal
