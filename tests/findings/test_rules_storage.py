"""Every rule over rows written by hand (tests.support.finding_rows), on SQLite
and PostgreSQL: exactly the expected findings, and thresholds that move them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from tests.support.finding_rows import seed_findings_world
from tests.support.months import real_today

from smp.storage.findings import evaluate_findings
from smp.storage.tables import (
    FindingRow,
    FindingThresholdDefaultRow,
    FindingThresholdOverrideRow,
    PostureScoreRow,
)


def findings_of(
    engine: Engine, integration_id: int
) -> dict[tuple[str, str], FindingRow]:
    with Session(engine) as session:
        rows = session.scalars(
            select(FindingRow).where(FindingRow.integration_id == integration_id)
        )
        return {(row.rule, row.subject_key): row for row in rows}


def midnight() -> dt.datetime:
    """Today's start: the credit period's dates are whole days, so its pace is exact."""
    return dt.datetime.combine(real_today(), dt.time(), tzinfo=dt.UTC)


def test_each_rule_finds_exactly_the_seeded_subjects(engine: Engine) -> None:
    now = midnight()
    seeded = seed_findings_world(engine, now)
    evaluate_findings(engine, now=now, integration_ids=[seeded.integration_id])
    found = findings_of(engine, seeded.integration_id)
    assert set(found) == seeded.expected()
    assert {row.status for row in found.values()} == {"open"}
    leaver = found[("leaver_with_access", "bob@acme.test")]
    assert leaver.severity == "high"
    assert leaver.title == "Leaver still has access: bob@acme.test"
    assert leaver.evidence["kind"] == "teammate"
    credits = found[("credits_running_out", "account")].evidence
    assert (credits["used"], credits["total"], credits["forecast_used"]) == (
        600,
        1000,
        1800,
    )
    # 2 high + 3 medium... counted by hand from EXPECTED:
    # high: 2 leavers, 2 external admins, credits = 5; medium: invite, key = 2;
    # low: 2 expired invites, 1 idle subuser = 3.
    with Session(engine) as session:
        score = session.scalars(
            select(PostureScoreRow).where(
                PostureScoreRow.integration_id == seeded.integration_id
            )
        ).one()
    assert (score.high, score.medium, score.low) == (5, 2, 3)
    assert score.score == 0  # 100 - 5*20 - 2*8 - 3*2 < 0


def test_thresholds_global_then_per_integration(engine: Engine) -> None:
    now = dt.datetime.now(dt.UTC)
    seeded = seed_findings_world(engine, now)
    other = seed_findings_world(engine, now)
    ids = [seeded.integration_id, other.integration_id]
    with Session(engine) as session, session.begin():
        # Globally: 20 % admins is too many (the seeded 3 of 10 now is);
        # invites may linger 8 days (the 7-day-old one no longer counts).
        session.add(
            FindingThresholdDefaultRow(
                rule="too_many_admins", name="share_percent", value=20, updated_at=now
            )
        )
        session.add(
            FindingThresholdDefaultRow(
                rule="expired_invite", name="days", value=8, updated_at=now
            )
        )
        # One integration raises the share again: its override wins.
        session.add(
            FindingThresholdOverrideRow(
                integration_id=other.integration_id,
                rule="too_many_admins",
                name="share_percent",
                value=30,
                updated_at=now,
            )
        )
    try:
        evaluate_findings(engine, now=now, integration_ids=ids)
        first, second = (set(findings_of(engine, i)) for i in ids)
        changed = {("too_many_admins", "account")}
        assert first == (seeded.expected() | changed) - {
            ("expired_invite", "edge@acme.test")
        }
        assert second == other.expected() - {("expired_invite", "edge@acme.test")}
        evidence = findings_of(engine, seeded.integration_id)[
            ("too_many_admins", "account")
        ].evidence
        assert evidence == {
            "admins": 3,
            "members": 10,
            "share_percent": 30.0,
            "threshold_percent": 20,
        }
    finally:
        with Session(engine) as session, session.begin():
            session.query(FindingThresholdDefaultRow).delete()
