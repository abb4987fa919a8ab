"""Stats arithmetic: bucket daily metrics by day, week or month.

Weeks are ISO weeks (Monday to Sunday). A bucket is dated by its first day that
falls inside the requested range, so the first bucket may start mid-week/month.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import cast

from smp.simulator.world import METRIC_NAMES, DailyStat, Metrics

AGGREGATIONS = ("day", "week", "month")


def zero_metrics() -> Metrics:
    return cast(Metrics, dict.fromkeys(METRIC_NAMES, 0))


def add_metrics(total: Metrics, extra: Metrics) -> None:
    for name in METRIC_NAMES:
        total[name] += extra[name]  # type: ignore[literal-required]


def bucket_start(day: dt.date, aggregated_by: str) -> dt.date:
    if aggregated_by == "week":
        return day - dt.timedelta(days=day.weekday())
    if aggregated_by == "month":
        return day.replace(day=1)
    return day


def aggregate(
    daily: Iterable[DailyStat],
    start: dt.date,
    end: dt.date,
    aggregated_by: str,
) -> list[tuple[str, Metrics]]:
    """Sum metrics per bucket over every day in [start, end]; missing days are 0."""
    by_date = {d["date"]: d["metrics"] for d in daily}
    buckets: dict[dt.date, Metrics] = {}
    day = start
    while day <= end:
        key = max(bucket_start(day, aggregated_by), start)
        bucket = buckets.get(key)
        if bucket is None:
            bucket = buckets[key] = zero_metrics()
        found = by_date.get(day.isoformat())
        if found is not None:
            add_metrics(bucket, found)
        day += dt.timedelta(days=1)
    return [(key.isoformat(), metrics) for key, metrics in buckets.items()]


def month_total(daily: Iterable[DailyStat], any_day: dt.date) -> Metrics:
    """Metrics summed over the calendar month that contains `any_day`."""
    prefix = any_day.strftime("%Y-%m-")
    total = zero_metrics()
    for day in daily:
        if day["date"].startswith(prefix):
            add_metrics(total, day["metrics"])
    return total
