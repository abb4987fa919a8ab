"""The hash chain on both databases: edits and deletions show at their row."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading

import pytest
from sqlalchemy import Engine, delete, select, text

from smp.model.audit import GENESIS_HASH, AuditEntry, canonical, entry_hash
from smp.storage import audit, session_factory
from smp.storage.tables import AuditEventRow, AuditHeadRow

NOON = dt.datetime(2026, 12, 31, 23, 59, 59, 123456, tzinfo=dt.UTC)


def _append(engine: Engine, count: int, *, actor: str = "alice") -> None:
    for number in range(count):
        with session_factory(engine).begin() as session:
            audit.append(
                session,
                actor=actor,
                source="127.0.0.1",
                action="user.add",
                target=f"user-{number}",
                details={"role": "viewer", "when": dt.date(2027, 1, 1)},
                now=NOON + dt.timedelta(seconds=number),
            )


def _reset(engine: Engine) -> None:
    with session_factory(engine).begin() as session:
        session.execute(delete(AuditEventRow))
        session.execute(delete(AuditHeadRow))  # tests below delete it
        session.add(AuditHeadRow(id=1, last_id=0, last_hash=GENESIS_HASH))


@pytest.fixture
def trail(engine: Engine) -> Engine:
    _reset(engine)
    _append(engine, 5)
    return engine


def test_canonical_form_is_sorted_compact_json() -> None:
    entry = AuditEntry(
        id=7,
        occurred_at=dt.datetime(2027, 1, 1, 0, 0, tzinfo=dt.UTC),
        actor=None,
        source="cli",
        action="sync.start",
        target="Acme",
        details={"b": 1, "a": [1, 2]},
    )
    text = (
        '{"action":"sync.start","actor":null,"details":{"a":[1,2],"b":1},'
        '"id":7,"occurred_at":"2027-01-01T00:00:00+00:00","source":"cli",'
        '"target":"Acme"}'
    )
    assert canonical(entry) == text
    # SHA-256 of 64 zeros followed by `text`, computed once outside SMP
    expected = "ee70cb295d4dd017ae21d4365dda6533d8cb94308301a7841e8b488467ef7649"
    assert hashlib.sha256(("0" * 64 + text).encode()).hexdigest() == expected
    assert entry_hash("0" * 64, entry) == expected


def test_an_untouched_chain_verifies(trail: Engine) -> None:
    report = audit.verify(trail)
    assert (report.entries, report.broken) == (5, None)


def test_an_empty_trail_verifies(engine: Engine) -> None:
    _reset(engine)
    report = audit.verify(engine)
    assert (report.entries, report.broken) == (0, None)


@pytest.mark.parametrize(
    "change",
    [
        'UPDATE audit_events SET details = \'{"role": "admin"}\' WHERE id = 3',
        "UPDATE audit_events SET actor = 'mallory' WHERE id = 3",
    ],
)
def test_an_edited_row_fails_at_that_row(trail: Engine, change: str) -> None:
    with trail.begin() as connection:
        connection.execute(text(change))
    broken = audit.verify(trail).broken
    assert broken is not None
    assert (broken.row_id, broken.reason) == (3, "it was edited")


def test_a_deleted_middle_row_fails_at_it(trail: Engine) -> None:
    with trail.begin() as connection:
        connection.execute(text("DELETE FROM audit_events WHERE id = 3"))
    broken = audit.verify(trail).broken
    assert broken is not None
    assert broken.row_id == 4
    assert "3" in broken.reason
    assert "deleted" in broken.reason


def test_a_deleted_last_row_fails_at_it(trail: Engine) -> None:
    with trail.begin() as connection:
        connection.execute(text("DELETE FROM audit_events WHERE id = 5"))
    broken = audit.verify(trail).broken
    assert broken is not None
    assert broken.row_id == 5
    assert "deleted" in broken.reason


def test_a_deleted_head_row_is_recreated_from_the_last_entry(trail: Engine) -> None:
    with trail.begin() as connection:
        connection.execute(text("DELETE FROM audit_head"))
    broken = audit.verify(trail).broken
    assert broken is not None
    assert broken.row_id == 5
    assert "head row (audit_head) is missing" in broken.reason
    _append(trail, 2)  # would collide with entry 1 if the chain started again
    with session_factory(trail)() as session:
        rows = session.execute(
            select(AuditEventRow.id, AuditEventRow.action, AuditEventRow.prev_hash)
            .where(AuditEventRow.id > 4)
            .order_by(AuditEventRow.id)
        ).all()
        fifth = session.scalar(select(AuditEventRow.hash).where(AuditEventRow.id == 5))
    assert [(r[0], r[1]) for r in rows] == [
        (5, "user.add"),
        (6, "audit.head_recreated"),
        (7, "user.add"),
        (8, "user.add"),
    ]
    assert rows[1][2] == fifth
    report = audit.verify(trail)
    assert report.entries == 5
    assert report.broken is not None
    assert report.broken.row_id == 6
    assert "head row (audit_head) had been deleted" in report.broken.reason


def test_two_appends_finding_the_head_missing_recreate_it_once(trail: Engine) -> None:
    with trail.begin() as connection:
        connection.execute(text("DELETE FROM audit_head"))
    first = session_factory(trail)()
    first.begin()
    audit.append(
        first, actor="a", source="cli", action="user.add", target="x", details={}
    )
    # The second finds no head either (the first has not committed) and waits
    # for the first's new head row: on the unique key (PostgreSQL) or for the
    # write lock (SQLite).
    second = threading.Thread(target=_append, args=(trail, 1), kwargs={"actor": "b"})
    second.start()
    second.join(0.5)
    first.commit()
    first.close()
    second.join()
    with session_factory(trail)() as session:
        rows = session.execute(
            select(AuditEventRow.id, AuditEventRow.action, AuditEventRow.actor)
            .where(AuditEventRow.id > 5)
            .order_by(AuditEventRow.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        (6, "audit.head_recreated", None),
        (7, "user.add", "a"),
        (8, "user.add", "b"),
    ]
    broken = audit.verify(trail).broken
    assert broken is not None
    assert broken.row_id == 6


def test_an_empty_trail_without_its_head_row_fails(engine: Engine) -> None:
    _reset(engine)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_head"))
    broken = audit.verify(engine).broken
    assert broken is not None
    assert "head row (audit_head) is missing" in broken.reason
    _append(engine, 1)
    with session_factory(engine)() as session:
        actions = session.scalars(
            select(AuditEventRow.action).order_by(AuditEventRow.id)
        )
        assert list(actions) == ["audit.head_recreated", "user.add"]


def test_a_rolled_back_action_leaves_no_entry(trail: Engine) -> None:
    session = session_factory(trail)()
    with session:
        audit.append(
            session,
            actor="bob",
            source="cli",
            action="user.remove",
            target="carol",
            details={},
        )
        session.rollback()
    assert audit.verify(trail).entries == 5
    _append(trail, 1)
    assert (audit.verify(trail).entries, audit.verify(trail).broken) == (6, None)


def test_concurrent_appends_chain_one_after_another(engine: Engine) -> None:
    _reset(engine)
    failures: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            _append(engine, 60, actor=name)
        except BaseException as exc:  # reported below, never lost in the thread
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in ("a", "b", "c")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    report = audit.verify(engine)
    assert (report.entries, report.broken) == (180, None)
