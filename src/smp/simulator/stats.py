"""Stats arithmetic: bucket daily metrics by day, week or month.

Weeks are ISO weeks (Monday to Sunday). A bucket is dated by its first day that
falls inside the requested range, so the first bucket may start mid-week/month.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class MonthIndex:
    """A series' days by month ("YYYY-MM"), with each month's total and its
    first and last dated day. Built once per world: summing ~730 days again
    for every `aggregated_by=month` request was most of the simulator's CPU.
    Like the response cache, it assumes a world changes only through the
    simulator: `replace_world`, or growing to a new day, both rebuild it.
    """

    days: dict[str, list[tuple[str, Metrics]]]
    totals: dict[str, Metrics]
    spans: dict[str, tuple[str, str]]


def month_index(daily: Iterable[DailyStat]) -> MonthIndex:
    by_date = {d["date"]: d["metrics"] for d in daily}  # a repeated date: last wins
    days: dict[str, list[tuple[str, Metrics]]] = {}
    for date, metrics in sorted(by_date.items()):
        if dt.date.fromisoformat(date).isoformat() == date:  # as `aggregate` reads
            days.setdefault(date[:7], []).append((date, metrics))
    totals = {}
    for month, entries in days.items():
        total = totals[month] = zero_metrics()
        for _, metrics in entries:
            add_metrics(total, metrics)
    spans = {month: (entries[0][0], entries[-1][0]) for month, entries in days.items()}
    return MonthIndex(days, totals, spans)


def aggregate(
    daily: Iterable[DailyStat],
    start: dt.date,
    end: dt.date,
    aggregated_by: str,
    months: MonthIndex | None = None,
) -> list[tuple[str, Metrics]]:
    """Sum metrics per bucket over every day in [start, end]; missing days are 0.

    `months`, the series' MonthIndex, answers by month without the daily walk.
    """
    if aggregated_by == "month" and months is not None:
        return _by_month(months, start, end)
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


def _by_month(
    index: MonthIndex, start: dt.date, end: dt.date
) -> list[tuple[str, Metrics]]:
    buckets: list[tuple[str, Metrics]] = []
    if start > end:
        return buckets
    month = start.replace(day=1)
    while month <= end:
        following = (month + dt.timedelta(days=32)).replace(day=1)
        low = max(month, start).isoformat()
        high = min(following - dt.timedelta(days=1), end).isoformat()
        name = low[:7]
        total = zero_metrics()
        span = index.spans.get(name)
        if span is not None and low <= span[0] and span[1] <= high:
            add_metrics(total, index.totals[name])
        elif span is not None:
            for date, metrics in index.days[name]:
                if low <= date <= high:
                    add_metrics(total, metrics)
        buckets.append((low, total))
        month = following
    return buckets


def month_total(daily: Iterable[DailyStat], any_day: dt.date) -> Metrics:
    """Metrics summed over the calendar month that contains `any_day`."""
    prefix = any_day.strftime("%Y-%m-")
    total = zero_metrics()
    for day in daily:
        if day["date"].startswith(prefix):
            add_metrics(total, day["metrics"])
    return total
