"""Credit usage math: utilization, a linear forecast to the next reset, overage risk.

The forecast assumes sending continues at the average pace of the period so far:
used / elapsed * period length. It is deliberately simple and explainable.
"""

from __future__ import annotations

import datetime as dt


def utilization(used: int | None, total: int | None) -> float | None:
    """`used ÷ total`, or None when there is no allowance to divide by."""
    if used is None or not total:
        return None
    return used / total


def _as_datetime(day: dt.date | dt.datetime) -> dt.datetime:
    if isinstance(day, dt.datetime):
        return day if day.tzinfo else day.replace(tzinfo=dt.UTC)
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def forecast_used_at_reset(
    used: int | None,
    last_reset: dt.date | dt.datetime | None,
    next_reset: dt.date | dt.datetime | None,
    now: dt.datetime,
) -> float | None:
    """Linear extrapolation of `used` to `next_reset`.

    None when the period is unknown or empty. At or after `next_reset` the
    forecast is just `used`; very early in a period (less than an hour) the pace
    is meaningless, so it is also `used`.
    """
    if used is None or last_reset is None or next_reset is None:
        return None
    start, end = _as_datetime(last_reset), _as_datetime(next_reset)
    length = (end - start).total_seconds()
    if length <= 0:
        return None
    elapsed = (_as_datetime(now) - start).total_seconds()
    if elapsed >= length or elapsed < 3600:
        return float(used)
    return used * length / elapsed


def overage_risk(forecast_used: float | None, total: int | None) -> bool:
    """True when the forecast goes beyond the allowance."""
    if forecast_used is None or not total:
        return False
    return forecast_used > total


def period_start(reset_frequency: str | None, today: dt.date) -> dt.date:
    """Start of the current period when SendGrid gives no `last_reset`.

    Subuser credits carry a frequency but no dates; we key their snapshots on
    the calendar period (month, ISO week or day) that contains `today`.
    """
    frequency = (reset_frequency or "monthly").lower()
    if frequency == "daily":
        return today
    if frequency == "weekly":
        return today - dt.timedelta(days=today.weekday())
    return today.replace(day=1)
