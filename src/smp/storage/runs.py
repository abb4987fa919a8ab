"""Sync runs: one row per run, with per-capability outcomes and request counters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from smp.model import Outcome, SyncRun
from smp.storage.errors import RecordNotFoundError
from smp.storage.tables import IntegrationRow, SyncRunRow


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _run(row: SyncRunRow) -> SyncRun:
    return SyncRun(
        id=row.id,
        integration_id=row.integration_id,
        trigger=row.trigger,
        started_at=row.started_at,
        finished_at=row.finished_at,
        outcome=Outcome(row.outcome) if row.outcome else None,
        capabilities=dict(row.capabilities),
        requests=row.requests,
        retries=row.retries,
        rate_limit_waits=row.rate_limit_waits,
        errors=tuple(row.errors),
    )


def start_sync_run(
    session: Session,
    integration_id: int,
    trigger: str,
    *,
    now: dt.datetime | None = None,
) -> int:
    """Record a run as started (outcome None) and return its id."""
    row = SyncRunRow(
        integration_id=integration_id,
        trigger=trigger,
        started_at=now or _now(),
        capabilities={},
        requests=0,
        retries=0,
        rate_limit_waits=0,
        errors=[],
    )
    session.add(row)
    session.flush()
    return row.id


INTERRUPTED = "interrupted: the sync process stopped before this run finished"


def close_interrupted_runs(
    session: Session, integration_id: int, *, now: dt.datetime | None = None
) -> int:
    """Mark runs that never finished as failed; call only while holding the lock.

    Such a run's process died (killed, crashed, power loss): with the lock held
    nobody else can still be working on it. Returns how many were closed.
    """
    rows = session.scalars(
        select(SyncRunRow).where(
            SyncRunRow.integration_id == integration_id,
            SyncRunRow.finished_at.is_(None),
        )
    ).all()
    for row in rows:
        row.finished_at = now or _now()
        row.outcome = str(Outcome.FAILED)
        row.errors = [INTERRUPTED]
    return len(rows)


def finish_sync_run(
    session: Session,
    run_id: int,
    *,
    outcome: Outcome,
    capabilities: Mapping[str, Mapping[str, Any]],
    requests: int,
    retries: int,
    rate_limit_waits: int,
    errors: Sequence[str],
    now: dt.datetime | None = None,
) -> SyncRun:
    """Close a run. `capabilities` maps a capability to JSON-able details."""
    row = session.get(SyncRunRow, run_id)
    if row is None:
        raise RecordNotFoundError(f"no sync run {run_id}")
    finished = now or _now()
    row.finished_at = finished
    row.outcome = str(outcome)
    row.capabilities = {name: dict(detail) for name, detail in capabilities.items()}
    row.requests = requests
    row.retries = retries
    row.rate_limit_waits = rate_limit_waits
    row.errors = list(errors)
    integration = session.get(IntegrationRow, row.integration_id)
    if integration is not None:
        integration.last_sync_at = finished
    return _run(row)


def get_sync_run(session: Session, run_id: int) -> SyncRun:
    row = session.get(SyncRunRow, run_id)
    if row is None:
        raise RecordNotFoundError(f"no sync run {run_id}")
    return _run(row)


def list_sync_runs(
    session: Session, integration_id: int, *, limit: int = 20
) -> list[SyncRun]:
    """The most recent runs first."""
    rows = session.scalars(
        select(SyncRunRow)
        .where(SyncRunRow.integration_id == integration_id)
        .order_by(SyncRunRow.id.desc())
        .limit(limit)
    )
    return [_run(row) for row in rows]
