"""A sync whose closing classification fails still reports and records its run.

The sync's data is committed before the accounts are classified: a database
failure there is one log line and one of the run's errors, not an exception
that hides the outcome.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from tests.support.simulator import connect_world, wire_up

from smp.model import Outcome
from smp.simulator import generate_world
from smp.storage import get_sync_run, list_members
from smp.sync import engine as sync_engine
from smp.sync import run_sync

CAUSE = "server closed the connection unexpectedly"


def _database_gone(*args: Any, **kwargs: Any) -> int:
    raise OperationalError("SELECT 1", {}, Exception(CAUSE))


async def test_a_failed_classification_is_among_the_runs_errors(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    world = generate_world(seed=4, accounts=1, teammates=4, pending=1, subusers=1)
    setup = wire_up(world, engine)
    iid = await connect_world(setup, "classify fault", ("full",))
    monkeypatch.setattr(sync_engine, "reclassify", _database_gone)
    with caplog.at_level(logging.WARNING, logger="smp.sync.engine"):
        report = await run_sync(engine, setup.box, iid, setup.context)

    assert report.outcome is Outcome.OK
    with Session(engine) as session:
        run = get_sync_run(session, report.run_id)
        members = list_members(session, iid)
    assert run.finished_at is not None
    assert run.outcome is Outcome.OK
    assert run.errors == ("classification: database: OperationalError",)
    # The teammates and the invite were kept.
    assert len(members) == 5
    lines = [r for r in caplog.records if "not classified" in r.getMessage()]
    assert [r.getMessage() for r in lines] == [
        f"{report.integration}: accounts not classified, the database failed: {CAUSE}"
    ]
    assert lines[0].exc_info is None
