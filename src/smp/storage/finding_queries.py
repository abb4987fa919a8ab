"""Reading findings (filtered, paged, with events) and the user's decisions on
them: accept and snooze, thresholds, posture scores."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, delete, func, select
from sqlalchemy.orm import Session

from smp.model.findings import (
    Finding,
    FindingEvent,
    FindingEventKind,
    FindingStatus,
    PostureScore,
)
from smp.storage.errors import RecordNotFoundError
from smp.storage.tables import (
    FindingEventRow,
    FindingRow,
    FindingThresholdDefaultRow,
    FindingThresholdOverrideRow,
    IntegrationRow,
    PostureScoreRow,
)
from smp.storage.upsert import upsert

_SEVERITY_ORDER = case(
    {"high": 0, "medium": 1, "low": 2}, value=FindingRow.severity, else_=3
)


def _finding(row: FindingRow, integration: str) -> Finding:
    return Finding(
        id=row.id,
        integration_id=row.integration_id,
        integration=integration,
        rule=row.rule,
        subject_key=row.subject_key,
        subject_label=row.subject_label,
        severity=row.severity,
        status=row.status,
        title=row.title,
        evidence=row.evidence,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        resolved_at=row.resolved_at,
        snoozed_until=row.snoozed_until,
        episode=row.episode,
        episode_opened_at=row.episode_opened_at,
        status_changed_at=row.status_changed_at,
        status_by=row.status_by,
        status_reason=row.status_reason,
    )


def page_findings(
    session: Session,
    *,
    integration_id: int | None = None,
    severities: Sequence[str] = (),
    status: str | None = None,
    rule: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[Finding], int]:
    """Findings, most severe first, then by integration and id; and the total."""
    where: list[Any] = []
    if integration_id is not None:
        where.append(FindingRow.integration_id == integration_id)
    if severities:
        where.append(FindingRow.severity.in_(list(severities)))
    if status is not None:
        where.append(FindingRow.status == status)
    if rule is not None:
        where.append(FindingRow.rule == rule)
    total = session.scalar(select(func.count()).select_from(FindingRow).where(*where))
    query = (
        select(FindingRow, IntegrationRow.name)
        .join(IntegrationRow, IntegrationRow.id == FindingRow.integration_id)
        .where(*where)
        .order_by(_SEVERITY_ORDER, IntegrationRow.name_key, FindingRow.id)
        .offset(offset)
        .limit(limit)
    )
    items = [_finding(row, name) for row, name in session.execute(query)]
    return items, int(total or 0)


def get_finding(session: Session, finding_id: int) -> Finding:
    found = session.execute(
        select(FindingRow, IntegrationRow.name)
        .join(IntegrationRow, IntegrationRow.id == FindingRow.integration_id)
        .where(FindingRow.id == finding_id)
    ).first()
    if found is None:
        raise RecordNotFoundError(f"no finding {finding_id}")
    return _finding(*found)


def finding_events(session: Session, finding_id: int) -> list[FindingEvent]:
    e = FindingEventRow
    rows = session.execute(
        select(
            e.id, e.episode, e.kind, e.actor, e.reason, e.snoozed_until, e.occurred_at
        )
        .where(e.finding_id == finding_id)
        .order_by(e.id)
    )
    return [FindingEvent(*row) for row in rows]


def decide(
    session: Session,
    finding_id: int,
    *,
    status: FindingStatus,
    reason: str,
    actor: str,
    now: dt.datetime,
    snoozed_until: dt.datetime | None = None,
) -> None:
    """A user accepts or snoozes a live finding: the row and its event."""
    row = session.get(FindingRow, finding_id, with_for_update=True)
    if row is None:
        raise RecordNotFoundError(f"no finding {finding_id}")
    row.status = status.value
    row.snoozed_until = snoozed_until
    row.status_changed_at, row.status_by, row.status_reason = now, actor, reason
    kind = (
        FindingEventKind.SNOOZED
        if status is FindingStatus.SNOOZED
        else FindingEventKind.ACCEPTED
    )
    session.add(
        FindingEventRow(
            finding_id=row.id,
            integration_id=row.integration_id,
            episode=row.episode,
            kind=kind.value,
            actor=actor,
            reason=reason,
            snoozed_until=snoozed_until,
            occurred_at=now,
        )
    )


def finding_status(session: Session, finding_id: int) -> str:
    status = session.scalar(
        select(FindingRow.status).where(FindingRow.id == finding_id)
    )
    if status is None:
        raise RecordNotFoundError(f"no finding {finding_id}")
    return status


def save_threshold(
    session: Session,
    *,
    rule: str,
    name: str,
    value: int | None,
    integration_id: int | None,
    actor: str,
    now: dt.datetime,
) -> None:
    """Set a global (integration None) or per-integration threshold; None
    removes it, so the next one down applies again."""
    table: Any = (
        FindingThresholdDefaultRow
        if integration_id is None
        else FindingThresholdOverrideRow
    )
    keys: dict[str, Any] = {"rule": rule, "name": name}
    if integration_id is not None:
        keys["integration_id"] = integration_id
    if value is None:
        session.execute(
            delete(table).where(*(getattr(table, k) == v for k, v in keys.items()))
        )
        return
    upsert(
        session,
        table,
        [{**keys, "value": value, "updated_by": actor, "updated_at": now}],
        keys=list(keys),
    )


def stored_thresholds(
    session: Session,
) -> tuple[dict[tuple[str, str], int], dict[tuple[int, str, str], int]]:
    """The global values by (rule, name); overrides by (integration, rule, name)."""
    d, o = FindingThresholdDefaultRow, FindingThresholdOverrideRow
    defaults = {
        (r, n): v for r, n, v in session.execute(select(d.rule, d.name, d.value))
    }
    overrides = {
        (i, r, n): v
        for i, r, n, v in session.execute(
            select(o.integration_id, o.rule, o.name, o.value)
        )
    }
    return defaults, overrides


def posture_histories(
    session: Session, integration_ids: Sequence[int], *, limit: int = 30
) -> dict[int, list[PostureScore]]:
    """Each integration's latest `limit` scores, the latest first, in one query
    (a window numbers each integration's scores); no entry for one never scored."""
    p = PostureScoreRow
    newest = (
        func.row_number()
        .over(
            partition_by=p.integration_id,
            order_by=(p.evaluated_at.desc(), p.id.desc()),
        )
        .label("newest")
    )
    ranked = (
        select(
            p.integration_id, p.evaluated_at, p.score, p.high, p.medium, p.low, newest
        )
        .where(p.integration_id.in_(list(integration_ids)))
        .subquery()
    )
    rows = session.execute(
        select(
            ranked.c.integration_id,
            ranked.c.evaluated_at,
            ranked.c.score,
            ranked.c.high,
            ranked.c.medium,
            ranked.c.low,
        )
        .where(ranked.c.newest <= limit)
        .order_by(ranked.c.integration_id, ranked.c.newest)
    )
    histories: dict[int, list[PostureScore]] = {}
    for integration_id, *score in rows:
        histories.setdefault(integration_id, []).append(PostureScore(*score))
    return histories


def posture_history(
    session: Session, integration_id: int, *, limit: int = 30
) -> list[PostureScore]:
    """The latest scores first."""
    p = PostureScoreRow
    rows = session.execute(
        select(p.evaluated_at, p.score, p.high, p.medium, p.low)
        .where(p.integration_id == integration_id)
        .order_by(p.evaluated_at.desc(), p.id.desc())
        .limit(limit)
    )
    return [PostureScore(*row) for row in rows]
