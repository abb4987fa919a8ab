"""Evaluations side by side, and a sync whose closing evaluation fails."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from tests.support.finding_rows import EXPECTED, seed_findings_world
from tests.support.simulator import connect_world, wire_up

from smp.model import Outcome
from smp.simulator import generate_world
from smp.storage import get_sync_run
from smp.storage.findings import evaluate_findings
from smp.storage.tables import FindingEventRow, FindingRow
from smp.sync import engine as sync_engine
from smp.sync import run_sync

CAUSE = "server closed the connection unexpectedly"


def test_three_evaluations_at_once_open_each_finding_once(engine: Engine) -> None:
    now = dt.datetime.now(dt.UTC)
    world = seed_findings_world(engine, now)
    ids = [world.integration_id]
    failures: list[BaseException] = []
    start = threading.Barrier(3)

    def evaluate() -> None:
        start.wait()
        try:
            evaluate_findings(engine, now=now, integration_ids=ids)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=evaluate) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with Session(engine) as session:
        findings = session.scalar(
            select(func.count()).where(
                FindingRow.integration_id == world.integration_id
            )
        )
        opened = session.scalar(
            select(func.count()).where(
                FindingEventRow.integration_id == world.integration_id,
                FindingEventRow.kind == "opened",
            )
        )
    assert (findings, opened) == (len(EXPECTED), len(EXPECTED))


def _database_gone(*args: Any, **kwargs: Any) -> Any:
    raise OperationalError("SELECT 1", {}, Exception(CAUSE))


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
async def test_a_failed_evaluation_leaves_the_sync_ok(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    world = generate_world(seed=4, accounts=1, teammates=4, pending=1, subusers=1)
    setup = wire_up(world, engine)
    iid = await connect_world(setup, "evaluation fault", ("full",))
    monkeypatch.setattr(sync_engine, "evaluate_findings", _database_gone)
    with caplog.at_level(logging.WARNING, logger="smp.sync.engine"):
        report = await run_sync(engine, setup.box, iid, setup.context)
    assert report.outcome is Outcome.OK
    with Session(engine) as session:
        run = get_sync_run(session, report.run_id)
    assert (run.outcome, run.errors) == (Outcome.OK, ())
    lines = [r.getMessage() for r in caplog.records if "findings" in r.getMessage()]
    assert lines == [
        f"{report.integration}: findings not evaluated, the database failed: {CAUSE}"
    ]
