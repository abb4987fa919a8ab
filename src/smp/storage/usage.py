"""Credit usage periods and monthly volume, per account ('' subuser) and per subuser.

Usage: one row per integration + subuser + period start (`last_reset`), so the
history of periods is kept and a re-sync of the running period updates it.
Volume: one row per integration + subuser + month, upserted; `closed` records
whether the month had ended (plus grace) when fetched, which is what makes the
next sync incremental (see `smp.model.volume.months_to_fetch`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from smp.model import (
    MonthlyVolume,
    UsagePeriod,
    UsageView,
    VolumeMetrics,
    forecast_used_at_reset,
    has_ended,
    is_month_closed,
    month_start,
    overage_risk,
    period_end,
    utilization,
)
from smp.storage.tables import (
    VOLUME_METRICS,
    MonthlyVolumeRow,
    ServiceAccountRow,
    UsagePeriodRow,
)
from smp.storage.upsert import CHUNK, upsert

ACCOUNT = ""  # the subuser column's value for the parent account itself


def _subuser_key(subuser: str | None) -> str:
    return subuser or ACCOUNT


def save_usage_period(
    session: Session,
    integration_id: int,
    period: UsagePeriod,
    *,
    source_sa_id: int | None,
    now: dt.datetime,
    run_id: int | None = None,
) -> None:
    row = {
        "integration_id": integration_id,
        "subuser": _subuser_key(period.subuser),
        "last_reset": period.last_reset,
        "next_reset": period.next_reset,
        "reset_frequency": period.reset_frequency,
        "credit_type": period.credit_type,
        "total": period.total,
        "used": period.used,
        "remain": period.remain,
        "overage": period.overage,
        "source_service_account_id": source_sa_id,
        "sync_run_id": run_id,
        "synced_at": now,
    }
    upsert(
        session,
        UsagePeriodRow,
        [row],
        keys=("integration_id", "subuser", "last_reset"),
    )


def _period(row: UsagePeriodRow, source_removed: bool) -> UsagePeriod:
    return UsagePeriod(
        last_reset=row.last_reset,
        next_reset=row.next_reset,
        total=row.total,
        used=row.used,
        remain=row.remain,
        overage=row.overage,
        reset_frequency=row.reset_frequency,
        credit_type=row.credit_type,
        subuser=row.subuser or None,
        observed_at=row.synced_at,
        source_service_account_id=row.source_service_account_id,
        source_removed=source_removed,
    )


def usage_history(
    session: Session,
    integration_id: int,
    subuser: str | None = None,
    *,
    limit: int | None = 24,
) -> list[UsagePeriod]:
    """Stored periods, the most recent first."""
    query = (
        select(UsagePeriodRow, ServiceAccountRow.removed_at)
        .outerjoin(
            ServiceAccountRow,
            ServiceAccountRow.id == UsagePeriodRow.source_service_account_id,
        )
        .where(
            UsagePeriodRow.integration_id == integration_id,
            UsagePeriodRow.subuser == _subuser_key(subuser),
        )
        .order_by(UsagePeriodRow.last_reset.desc())
        .limit(limit)
    )
    return [
        _period(row, removed is not None) for row, removed in session.execute(query)
    ]


def usage_view(period: UsagePeriod, now: dt.datetime) -> UsageView:
    """Utilization, the forecast at `next_reset` and the overage risk of a period.

    The forecast uses the time the figures were observed, not `now`, so a stale
    snapshot does not look like a slow month. A period that has ended by `now`
    has no forecast: the next one has begun and is not read yet.
    """
    end = period_end(period.last_reset, period.next_reset, period.reset_frequency)
    ended = has_ended(end, now)
    forecast = (
        None
        if ended
        else forecast_used_at_reset(
            period.used, period.last_reset, period.next_reset, period.observed_at or now
        )
    )
    return UsageView(
        period=period,
        utilization=utilization(period.used, period.total),
        forecast_used=forecast,
        overage_risk=overage_risk(forecast, period.total),
        ended=ended,
    )


def current_usage(
    session: Session,
    integration_id: int,
    subuser: str | None = None,
    *,
    now: dt.datetime | None = None,
) -> UsageView | None:
    """The latest period with derived figures, or None before the first sync."""
    latest = usage_history(session, integration_id, subuser, limit=1)
    if not latest:
        return None
    return usage_view(latest[0], now or dt.datetime.now(dt.UTC))


def save_volume_sets(
    session: Session,
    integration_id: int,
    sets: Mapping[str | None, Iterable[MonthlyVolume]],
    *,
    source_sa_id: int | None,
    now: dt.datetime,
    run_id: int | None = None,
) -> int:
    """Upsert the months of the account (None) and of subusers in one statement
    per 500 rows, not one per subuser (key: subuser -> its months)."""
    rows: list[dict[str, Any]] = []
    for subuser, volumes in sets.items():
        key = _subuser_key(subuser)
        for volume in volumes:
            month = month_start(volume.month)
            metrics = volume.metrics
            rows.append(
                {
                    "integration_id": integration_id,
                    "subuser": key,
                    "month": month,
                    "closed": is_month_closed(month, now),
                    # Not dataclasses.asdict: it deep-copies, and this runs per row.
                    **{name: getattr(metrics, name) for name in VOLUME_METRICS},
                    "source_service_account_id": source_sa_id,
                    "sync_run_id": run_id,
                    "synced_at": now,
                }
            )
    return upsert(
        session,
        MonthlyVolumeRow,
        rows,
        keys=("integration_id", "subuser", "month"),
    )


def stored_volume_months_of(
    session: Session, integration_id: int, subusers: Sequence[str | None]
) -> dict[str | None, dict[dt.date, bool]]:
    """Stored months -> closed? of each subuser (None: the account), for
    `smp.model.months_to_fetch`."""
    found: dict[str | None, dict[dt.date, bool]] = {name: {} for name in subusers}
    by_key = {_subuser_key(name): found[name] for name in subusers}
    keys = list(by_key)
    for start in range(0, len(keys), CHUNK):
        rows = session.execute(
            select(
                MonthlyVolumeRow.subuser,
                MonthlyVolumeRow.month,
                MonthlyVolumeRow.closed,
            ).where(
                MonthlyVolumeRow.integration_id == integration_id,
                MonthlyVolumeRow.subuser.in_(keys[start : start + CHUNK]),
            )
        )
        for key, month, closed in rows:
            by_key[key][month] = bool(closed)
    return found


def list_monthly_volumes(
    session: Session,
    integration_id: int,
    subuser: str | None = None,
    *,
    since: dt.date | None = None,
    all_subusers: bool = False,
) -> list[MonthlyVolume]:
    """Months oldest first; `all_subusers` returns the account and every subuser."""
    query = (
        select(MonthlyVolumeRow, ServiceAccountRow.removed_at)
        .outerjoin(
            ServiceAccountRow,
            ServiceAccountRow.id == MonthlyVolumeRow.source_service_account_id,
        )
        .where(MonthlyVolumeRow.integration_id == integration_id)
        .order_by(MonthlyVolumeRow.subuser, MonthlyVolumeRow.month)
    )
    if not all_subusers:
        query = query.where(MonthlyVolumeRow.subuser == _subuser_key(subuser))
    if since is not None:
        query = query.where(MonthlyVolumeRow.month >= month_start(since))
    return [
        MonthlyVolume(
            month=row.month,
            metrics=VolumeMetrics(
                **{name: getattr(row, name) for name in VOLUME_METRICS}
            ),
            subuser=row.subuser or None,
            closed=row.closed,
            synced_at=row.synced_at,
            source_service_account_id=row.source_service_account_id,
            source_removed=removed is not None,
        )
        for row, removed in session.execute(query)
    ]
