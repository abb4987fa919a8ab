"""Role mapping and the credit usage math."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.support.months import edge_days, month_end, month_start

from smp.model import (
    Role,
    forecast_used_at_reset,
    overage_risk,
    period_start,
    role_from_user_type,
    utilization,
)


@pytest.mark.parametrize(
    ("user_type", "is_admin", "role"),
    [
        ("owner", True, Role.OWNER),
        ("owner", False, Role.OWNER),
        ("admin", True, Role.ADMIN),
        ("admin", False, Role.ADMIN),
        ("teammate", False, Role.USER),
        ("teammate", True, Role.ADMIN),
        ("Teammate", False, Role.USER),
        (None, False, Role.USER),
        ("something-new", False, Role.USER),
    ],
)
def test_role_from_user_type(user_type: str | None, is_admin: bool, role: Role) -> None:
    assert role_from_user_type(user_type, is_admin) is role


def test_utilization_divides_and_refuses_zero() -> None:
    assert utilization(2000, 40000) == 0.05
    assert utilization(0, 0) is None
    assert utilization(5, None) is None
    assert utilization(None, 10) is None


def _period(day: dt.date) -> tuple[dt.date, dt.date, dt.datetime]:
    """`day`'s month as a credit period (first day, next reset) and its start."""
    first, reset = month_start(day), month_end(day) + dt.timedelta(days=1)
    return first, reset, dt.datetime.combine(first, dt.time(), dt.UTC)


@pytest.mark.parametrize("day", edge_days())
def test_forecast_is_linear_over_the_period(day: dt.date) -> None:
    first, reset, start = _period(day)
    length = dt.datetime.combine(reset, dt.time(), dt.UTC) - start
    # 1,000 sent in a third of the period -> 3,000 by the reset.
    third = start + length / 3
    assert forecast_used_at_reset(1000, first, reset, third) == pytest.approx(3000)
    halfway = start + length / 2
    assert forecast_used_at_reset(500, first, reset, halfway) == pytest.approx(1000)


@pytest.mark.parametrize("day", edge_days())
def test_forecast_edges(day: dt.date) -> None:
    first, reset, start = _period(day)
    after = dt.datetime.combine(reset, dt.time(), dt.UTC) + dt.timedelta(days=5)
    assert forecast_used_at_reset(700, first, reset, after) == 700
    first_minutes = start + dt.timedelta(minutes=10)
    assert forecast_used_at_reset(3, first, reset, first_minutes) == 3
    assert forecast_used_at_reset(3, None, reset, after) is None
    assert forecast_used_at_reset(3, reset, first, after) is None
    assert forecast_used_at_reset(None, first, reset, after) is None


@pytest.mark.parametrize("day", edge_days())
@given(
    used=st.integers(min_value=0, max_value=10**9),
    elapsed_h=st.integers(min_value=1, max_value=24 * 31),
)
def test_forecast_never_below_used(day: dt.date, used: int, elapsed_h: int) -> None:
    first, reset, start = _period(day)
    now = start + dt.timedelta(hours=elapsed_h)
    forecast = forecast_used_at_reset(used, first, reset, now)
    assert forecast is not None
    assert forecast >= used


def test_overage_risk() -> None:
    assert overage_risk(40001.0, 40000) is True
    assert overage_risk(40000.0, 40000) is False
    assert overage_risk(None, 40000) is False
    assert overage_risk(10.0, 0) is False


@pytest.mark.parametrize("day", edge_days())
def test_period_start_by_frequency(day: dt.date) -> None:
    assert period_start("monthly", day) == month_start(day)
    assert period_start(None, day) == month_start(day)
    year, week, _ = day.isocalendar()
    assert period_start("weekly", day) == dt.date.fromisocalendar(year, week, 1)
    assert period_start("daily", day) == day
