"""A finding's life over time, across a day, a month's and a year's end:
open, accepted, resolved, reopened as episode 2, snoozed, unsnoozed; each
change an event with who and why; the posture score at each evaluation."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session
from tests.support.months import EDGE_DAYS, real_today

from smp.services import findings
from smp.services.refusals import Refused
from smp.storage import create_integration, delete_integration
from smp.storage.tables import (
    AccountClassificationRow,
    FindingRow,
    FindingThresholdOverrideRow,
    PostureScoreRow,
)

HOUR = dt.timedelta(hours=1)


def a_leaver(engine: Engine, now: dt.datetime) -> int:
    with Session(engine) as session, session.begin():
        iid = create_integration(session, f"Life {uuid.uuid4().hex[:8]}").id
        session.add(
            AccountClassificationRow(
                integration_id=iid,
                kind="teammate",
                account_key="bob@acme.test",
                email="bob@acme.test",
                email_key="bob@acme.test",
                role="user",
                status="active",
                classification="leaver",
                present=True,
                leaver_since=now,
                updated_at=now,
            )
        )
    return iid


def still_there(engine: Engine, iid: int, present: bool) -> None:
    with Session(engine) as session, session.begin():
        session.execute(
            update(AccountClassificationRow)
            .where(AccountClassificationRow.integration_id == iid)
            .values(present=present)
        )


def evaluate(engine: Engine, iid: int, now: dt.datetime) -> FindingRow:
    findings.evaluate_findings(engine, now=now, integration_ids=[iid])
    with Session(engine) as session:
        return session.scalars(
            select(FindingRow).where(FindingRow.integration_id == iid)
        ).one()


# The evaluation that crosses a midnight: a year's, a 30-day month's, today's.
STARTS = [
    pytest.param(EDGE_DAYS["year-end"], id="year-end"),
    pytest.param(EDGE_DAYS["end-of-a-30-day-month"], id="month-end"),
    pytest.param(real_today(), id="today"),
]


@pytest.mark.parametrize("day", STARTS)
def test_open_accept_resolve_reopen_snooze_unsnooze(
    engine: Engine, day: dt.date
) -> None:
    t0 = dt.datetime.combine(day, dt.time(22, 30), tzinfo=dt.UTC)
    iid = a_leaver(engine, t0)
    first = evaluate(engine, iid, t0)
    assert (first.status, first.episode, first.first_seen) == ("open", 1, t0)

    findings.accept_finding(
        engine,
        first.id,
        reason="  contractor until the migration ends ",
        actor="alice",
        now=t0 + HOUR,
    )
    # Past midnight: the next day, month or year. Still accepted.
    t2 = t0 + 2 * HOUR
    row = evaluate(engine, iid, t2)
    assert (row.status, row.last_seen, row.status_by) == ("accepted", t2, "alice")
    assert row.status_reason == "contractor until the migration ends"

    still_there(engine, iid, present=False)
    t3 = t0 + 3 * HOUR
    row = evaluate(engine, iid, t3)
    assert (row.status, row.resolved_at) == ("resolved", t3)
    with pytest.raises(Refused) as refused:
        findings.accept_finding(engine, first.id, reason="x", actor="alice", now=t3)
    assert refused.value.kind == "conflict"

    still_there(engine, iid, present=True)
    t4 = t0 + 30 * HOUR
    row = evaluate(engine, iid, t4)
    assert (row.id, row.status, row.episode) == (first.id, "open", 2)
    assert (row.episode_opened_at, row.resolved_at, row.first_seen) == (t4, None, t0)

    until = t4.date() + dt.timedelta(days=2)
    findings.snooze_finding(
        engine,
        first.id,
        reason="waiting for HR",
        until=until,
        actor=findings.COMMAND_LINE,
        now=t4,
    )
    row = evaluate(engine, iid, t4 + 24 * HOUR)
    assert row.status == "snoozed"
    wake = dt.datetime.combine(until, dt.time(), tzinfo=dt.UTC)
    assert row.snoozed_until == wake
    row = evaluate(engine, iid, wake)
    assert (row.status, row.episode, row.snoozed_until) == ("open", 2, None)

    detail = findings.finding_detail(engine, first.id)
    assert [(e.kind, e.episode, e.actor) for e in detail.events] == [
        ("opened", 1, None),
        ("accepted", 1, "alice"),
        ("resolved", 1, None),
        ("reopened", 2, None),
        ("snoozed", 2, "command line"),
        ("unsnoozed", 2, None),
    ]
    assert [e.occurred_at for e in detail.events] == [t0, t0 + HOUR, t3, t4, t4, wake]
    assert detail.events[4].snoozed_until == wake
    assert detail.rule is not None
    assert detail.rule.fix
    with Session(engine) as session:
        scores = session.scalars(
            select(PostureScoreRow.score)
            .where(PostureScoreRow.integration_id == iid)
            .order_by(PostureScoreRow.evaluated_at)
        ).all()
    # One open high finding costs 20; accepted, resolved and snoozed cost nothing.
    assert scores == [80, 100, 100, 80, 100, 80]


def test_refusals_of_decisions(engine: Engine) -> None:
    now = dt.datetime.now(dt.UTC)
    iid = a_leaver(engine, now)
    finding = evaluate(engine, iid, now)

    def refused(**given: object) -> Refused:
        with pytest.raises(Refused) as caught:
            findings.snooze_finding(engine, actor="alice", now=now, **given)  # type: ignore[arg-type]
        return caught.value

    tomorrow = now.date() + dt.timedelta(days=1)
    blank = refused(finding_id=finding.id, reason="   ", until=tomorrow)
    assert (blank.kind, blank.field) == ("invalid", "reason")
    today = refused(finding_id=finding.id, reason="later", until=now.date())
    assert (today.field, str(today)) == (
        "until",
        f"the snooze date {now.date().isoformat()} is not in the future",
    )
    missing = refused(finding_id=2**31, reason="later", until=tomorrow)
    assert missing.kind == "not_found"
    gone = refused(finding_id=finding.id + 10_000, reason="later", until=tomorrow)
    assert (gone.kind, str(gone)) == ("not_found", f"no finding {finding.id + 10_000}")
    assert evaluate(engine, iid, now).status == "open"


def test_threshold_refusals_and_removal_with_the_integration(engine: Engine) -> None:
    now = dt.datetime.now(dt.UTC)
    iid = a_leaver(engine, now)

    def refused(**given: object) -> Refused:
        with pytest.raises(Refused) as caught:
            findings.set_threshold(engine, actor="alice", now=now, **given)  # type: ignore[arg-type]
        return caught.value

    out = refused(
        rule="too_many_admins", name="share_percent", value=101, integration=None
    )
    assert (
        str(out)
        == "too_many_admins.share_percent must be from 0 to 100 percent, not 101"
    )
    assert refused(rule="nope", name="days", value=1, integration=None).field == "rule"
    assert (
        refused(rule="idle_subuser", name="weeks", value=1, integration=None).field
        == "name"
    )
    findings.set_threshold(
        engine,
        rule="idle_subuser",
        name="days",
        value=30,
        integration=str(iid),
        actor="alice",
        now=now,
    )
    [view] = [v for v in findings.list_thresholds(engine) if v.rule == "idle_subuser"]
    assert view.global_value is None
    assert list(view.overrides.values()) == [30]
    # A user's setting, not a sync's: the integration's removal takes it along.
    with Session(engine) as session, session.begin():
        delete_integration(session, iid)
    with Session(engine) as session:
        left = session.scalars(
            select(FindingThresholdOverrideRow).where(
                FindingThresholdOverrideRow.integration_id == iid
            )
        ).all()
    assert left == []
