"""Calendar arithmetic for tests, written apart from SMP's and the simulator's.

Tests place their dates relative to a world's `today` or the real date with
these, and run pure functions over the days where calendars break plus the
day the tests run, so no test assumes what today is.
"""

from __future__ import annotations

import calendar
import datetime as dt

import pytest

# Days where calendars break: a year's first and last day, a leap day and the
# day after it, a short February's end, months of 31 and 30 days, a month's first.
EDGE_DAYS = {
    "new-year": dt.date(2027, 1, 1),
    "year-end": dt.date(2026, 12, 31),
    "leap-day": dt.date(2028, 2, 29),
    "after-leap-day": dt.date(2028, 3, 1),
    "february-end": dt.date(2027, 2, 28),
    "end-of-a-31-day-month": dt.date(2027, 3, 31),
    "end-of-a-30-day-month": dt.date(2027, 4, 30),
    "first-of-a-month": dt.date(2027, 5, 1),
}


def real_today() -> dt.date:
    """The machine's UTC date, the one SMP and the simulator use by default."""
    return dt.datetime.now(dt.UTC).date()


def edge_days() -> list[object]:
    """`EDGE_DAYS` and the real date, as pytest parameters named after them."""
    days = [pytest.param(day, id=name) for name, day in EDGE_DAYS.items()]
    return [*days, pytest.param(real_today(), id="today")]


def month_start(day: dt.date, back: int = 0) -> dt.date:
    """The first day of the month `back` months before `day`'s month."""
    first = day.replace(day=1)
    for _ in range(back):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return first


def month_end(day: dt.date) -> dt.date:
    """The last day of `day`'s month."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])
