"""When a credit period has ended: no forecast, labelled as ended.

Every `now` is placed relative to the period's own end (a second before, at,
after), around month, leap-month and year ends; no test depends on today.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.support.months import month_end, month_start, real_today

from smp.model import (
    UsagePeriod,
    has_ended,
    period_end,
    period_start,
    subuser_credits_ended,
)
from smp.storage.usage import usage_view

SECOND = dt.timedelta(seconds=1)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("last_reset", "frequency", "end"),
    [
        (dt.date(2026, 11, 1), "monthly", dt.date(2026, 12, 1)),
        (dt.date(2026, 12, 1), "monthly", dt.date(2027, 1, 1)),
        (dt.date(2028, 1, 31), "monthly", dt.date(2028, 2, 29)),
        (dt.date(2027, 1, 31), "monthly", dt.date(2027, 2, 28)),
        (dt.date(2026, 12, 28), "weekly", dt.date(2027, 1, 4)),
        (dt.date(2026, 12, 31), "daily", dt.date(2027, 1, 1)),
        (dt.date(2026, 12, 31), "Daily", dt.date(2027, 1, 1)),
        (dt.date(2026, 12, 1), None, None),
        (dt.date(2026, 12, 1), "", None),
    ],
)
def test_a_period_without_dates_ends_one_reset_later(
    last_reset: dt.date, frequency: str | None, end: dt.date | None
) -> None:
    assert period_end(last_reset, None, frequency) == end


def test_sendgrids_next_reset_wins_over_the_frequency() -> None:
    odd = dt.date(2026, 12, 17)
    assert period_end(dt.date(2026, 12, 1), odd, "monthly") == odd


@pytest.mark.parametrize(
    "end", [dt.date(2026, 12, 1), dt.date(2027, 1, 1), dt.date(2028, 2, 29)]
)
def test_ended_from_the_first_moment_of_the_reset_day(end: dt.date) -> None:
    start = _midnight(end)
    assert has_ended(end, start - SECOND) is False
    assert has_ended(end, start) is True
    assert has_ended(end, start + SECOND) is True
    # A naive moment is UTC, as SMP stores them.
    assert has_ended(end, start.replace(tzinfo=None)) is True
    assert has_ended(None, start) is False


def _period(
    last_reset: dt.date, next_reset: dt.date | None, **extra: object
) -> UsagePeriod:
    return UsagePeriod(last_reset, next_reset, total=40_000, used=30_000, **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("last_reset", "next_reset"),
    [
        (dt.date(2026, 11, 1), dt.date(2026, 12, 1)),
        (dt.date(2026, 12, 1), dt.date(2027, 1, 1)),
        (dt.date(2028, 2, 1), dt.date(2028, 3, 1)),
        (month_start(real_today()), month_end(real_today()) + dt.timedelta(days=1)),
    ],
)
def test_an_ended_period_has_no_forecast(
    last_reset: dt.date, next_reset: dt.date
) -> None:
    end = _midnight(next_reset)
    # Read two thirds into the period at a pace beyond the allowance.
    read = _midnight(last_reset) + (end - _midnight(last_reset)) * 2 / 3
    period = _period(last_reset, next_reset, observed_at=read)
    running = usage_view(period, end - SECOND)
    assert running.ended is False
    assert running.forecast_used == pytest.approx(45_000, rel=1e-6)
    assert running.overage_risk is True
    for now in (end, end + dt.timedelta(days=40)):
        ended = usage_view(period, now)
        assert ended.ended is True
        assert ended.forecast_used is None
        assert ended.overage_risk is False
        # The figures read stay what they were.
        assert ended.utilization == pytest.approx(0.75)


def test_a_subuser_period_ends_by_its_frequency() -> None:
    # Subuser snapshots carry no next_reset; a monthly one keyed on December.
    period = _period(dt.date(2026, 12, 1), None, reset_frequency="monthly")
    new_year = _midnight(dt.date(2027, 1, 1))
    assert usage_view(period, new_year - SECOND).ended is False
    assert usage_view(period, new_year).ended is True
    unlimited = _period(dt.date(2026, 12, 1), None, credit_type="unlimited")
    assert usage_view(unlimited, new_year + dt.timedelta(days=400)).ended is False


@pytest.mark.parametrize(
    ("frequency", "read_at", "reset"),
    [
        (
            "monthly",
            dt.datetime(2026, 12, 31, 23, 59, tzinfo=dt.UTC),
            dt.date(2027, 1, 1),
        ),
        ("monthly", dt.datetime(2027, 1, 1, 0, 0, tzinfo=dt.UTC), dt.date(2027, 2, 1)),
        ("weekly", dt.datetime(2026, 12, 30, 8, 0, tzinfo=dt.UTC), dt.date(2027, 1, 4)),
        (
            "daily",
            dt.datetime(2026, 11, 30, 18, 0, tzinfo=dt.UTC),
            dt.date(2026, 12, 1),
        ),
    ],
)
def test_subuser_credits_read_before_a_reset_are_the_last_periods(
    frequency: str, read_at: dt.datetime, reset: dt.date
) -> None:
    at_reset = _midnight(reset)
    assert subuser_credits_ended(frequency, read_at, at_reset - SECOND) is False
    assert subuser_credits_ended(frequency, read_at, at_reset) is True
    # Unlimited and nonrecurring credits have no frequency: they never reset.
    assert subuser_credits_ended(None, read_at, at_reset) is False
    assert subuser_credits_ended(frequency, None, at_reset) is False


@given(
    st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 12, 31)),
    st.sampled_from(["daily", "weekly", "monthly"]),
)
def test_a_derived_end_is_the_next_periods_start(day: dt.date, frequency: str) -> None:
    start = period_start(frequency, day)
    end = period_end(start, None, frequency)
    assert end is not None
    assert start <= day < end
    assert period_start(frequency, end) == end
