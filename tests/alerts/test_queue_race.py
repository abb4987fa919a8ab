"""Two servers queueing the same findings at once: one row each, counted once.

The second caller's INSERT runs while the first caller sits between its
SELECT (nothing queued yet) and its INSERT, the window in which both see the
findings as new. On SQLite writers take turns (BEGIN IMMEDIATE), so the
second waits for the first's commit; on PostgreSQL both get through the
SELECT and the later INSERT finds the rows already there.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from smp.model import Integration
from smp.storage import alerts as store
from smp.storage.tables import AlertChannelRow, AlertDeliveryRow, FindingRow

NOW = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)  # across a year's end


def _findings(engine: Engine, integration: Integration, count: int) -> None:
    with Session(engine) as session, session.begin():
        session.execute(delete(AlertChannelRow))
        session.execute(delete(FindingRow))
        for n in range(count):
            opened = NOW - dt.timedelta(hours=1)
            session.add(
                FindingRow(
                    integration_id=integration.id,
                    rule="leaver_teammate",
                    subject_key=f"r{n}@example.com",
                    subject_label=f"r{n}@example.com",
                    severity="high",
                    status="open",
                    title="Leaver still a teammate",
                    evidence={},
                    first_seen=opened,
                    last_seen=opened,
                    episode=1,
                    episode_opened_at=opened,
                    status_changed_at=opened,
                )
            )
        store.create_channel(
            session,
            name="race",
            kind=store.ChannelKind.SLACK,
            min_severity="low",
            settings={"shown": "example.com/…", "timeout_s": 1.0},
            encrypted_secret="unused",
            created_by=None,
            now=NOW - dt.timedelta(days=1),
        )


def _queue(engine: Engine, counts: list[int]) -> None:
    with Session(engine) as session, session.begin():
        [channel] = store.list_channels(session)
        counts.append(store.queue_new_findings(session, channel, NOW, digest_hour=8))


def test_two_callers_at_once_count_each_queued_row_once(
    engine: Engine, new_integration: Integration, monkeypatch: pytest.MonkeyPatch
) -> None:
    _findings(engine, new_integration, 4)
    counts: list[int] = []
    second = threading.Thread(target=_queue, args=(engine, counts))
    selected = threading.Event()
    requeue = store._requeue_reopened
    sqlite = engine.dialect.name == "sqlite"

    def between_select_and_insert(*args: object, **kwargs: object) -> int:
        # Runs after the caller's SELECT, before its INSERT.
        if not second.is_alive() and not counts and not selected.is_set():
            second.start()
            # PostgreSQL: let the second caller through its SELECT and INSERT
            # (it waits on ours); SQLite: it waits for our commit at BEGIN.
            if not sqlite:
                assert selected.wait(10)
        else:
            selected.set()
        return requeue(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "_requeue_reopened", between_select_and_insert)
    _queue(engine, counts)
    second.join(timeout=30)
    with Session(engine) as session:
        rows = session.scalar(select(func.count()).select_from(AlertDeliveryRow))
    assert rows == 4
    assert sorted(counts) == [0, 4]
