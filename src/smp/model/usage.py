"""Credit usage math: utilization, a linear forecast to the next reset, overage risk.

The forecast assumes sending continues at the average pace of the period so far:
used / elapsed * period length. It is deliberately simple and explainable.
A period that has ended gets no forecast: its figures are the final ones seen,
and the next period has not been read yet.
"""

from __future__ import annotations

import calendar
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


def _month_after(day: dt.date) -> dt.date:
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def period_end(
    last_reset: dt.date, next_reset: dt.date | None, reset_frequency: str | None
) -> dt.date | None:
    """The day a credit period ends: SendGrid's `next_reset` when it gives one.

    Subuser credits carry a frequency but no dates, so their period ends one
    day, week or month after `last_reset`. None when nothing resets (unlimited
    and nonrecurring credits have no frequency).
    """
    if next_reset is not None:
        return next_reset
    frequency = (reset_frequency or "").lower()
    if frequency == "daily":
        return last_reset + dt.timedelta(days=1)
    if frequency == "weekly":
        return last_reset + dt.timedelta(days=7)
    if frequency == "monthly":
        return _month_after(last_reset)
    return None


def has_ended(end: dt.date | dt.datetime | None, now: dt.datetime) -> bool:
    """True from the first moment of `end` (UTC) on: a reset day is the next period."""
    return end is not None and _as_datetime(end) <= _as_datetime(now)


def subuser_credits_ended(
    reset_frequency: str | None, read_at: dt.datetime | None, now: dt.datetime
) -> bool:
    """True when a subuser's stored credits were read in a period that has reset
    since, so they are the last period's figures, not the current ones."""
    if read_at is None or not reset_frequency:
        return False
    start = period_start(reset_frequency, _as_datetime(read_at).date())
    return has_ended(period_end(start, None, reset_frequency), now)
