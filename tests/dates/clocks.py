"""The moments the calendar suite runs at, derived from the real date.

Nothing here is a fixed "today": each scenario is placed relative to the
date the suite runs on, so it keeps testing the same edges in any year.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    """A sync with SMP's clock at `at`; the simulator restarts at
    `simulator_at` on the world it saved, or keeps running when None."""

    at: dt.datetime
    simulator_at: dt.datetime | None


def _moment(
    day: dt.date, hour: int = 0, minute: int = 0, second: int = 0
) -> dt.datetime:
    return dt.datetime(
        day.year, day.month, day.day, hour, minute, second, tzinfo=dt.UTC
    )


def _month_after(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _last_day(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _next_leap_day(day: dt.date) -> dt.date:
    year = day.year
    while not calendar.isleap(year) or dt.date(year, 2, 29) < day:
        year += 1
    return dt.date(year, 2, 29)


def _years_ahead(day: dt.date, years: int) -> dt.date:
    year = day.year + years
    return day.replace(
        year=year, day=min(day.day, calendar.monthrange(year, day.month)[1])
    )


def _moving(*moments: dt.datetime) -> list[Step]:
    """Each sync on a later date, with the simulator living on to it."""
    return [Step(at, at) for at in moments]


def scenarios(today: dt.date) -> dict[str, list[Step]]:
    month_start = _moment(_month_after(today))
    last_minute = _moment(_last_day(today), 23, 59)
    new_year = _moment(dt.date(today.year, 12, 31), 23, 59, 30)
    leap_day = _moment(_next_leap_day(today), 12)
    ten_years = _moment(_years_ahead(today, 10), 9, 30)
    mid_month = _moment(_month_after(today).replace(day=15), 12)
    minute, day = dt.timedelta(minutes=1), dt.timedelta(days=1)
    return {
        "first-second-of-a-month": _moving(month_start, month_start + 60 * minute),
        "last-minute-of-a-month": _moving(last_minute, last_minute + minute / 2),
        "new-year-between-syncs": _moving(new_year, new_year + minute),
        "leap-day": _moving(leap_day, _moment(leap_day.date() + day, 0, 0, 10)),
        "ten-years-ahead": _moving(ten_years, ten_years + day),
        # SendGrid's clock goes on while the machine's jumps back a day.
        "machine-clock-back-a-day": [
            Step(mid_month, mid_month),
            Step(mid_month - day, None),
            Step(mid_month + 2 * minute, None),
        ],
    }
