"""Role mapping and the credit usage math."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

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


START = dt.date(2026, 1, 1)
END = dt.date(2026, 1, 31)  # a 30-day period


def test_forecast_is_linear_over_the_period() -> None:
    ten_days_in = dt.datetime(2026, 1, 11, tzinfo=dt.UTC)
    # 1,000 sent in 10 of 30 days -> 3,000 by the reset.
    assert forecast_used_at_reset(1000, START, END, ten_days_in) == pytest.approx(3000)
    halfway = dt.datetime(2026, 1, 16, tzinfo=dt.UTC)
    assert forecast_used_at_reset(500, START, END, halfway) == pytest.approx(1000)


def test_forecast_edges() -> None:
    after = dt.datetime(2026, 2, 5, tzinfo=dt.UTC)
    assert forecast_used_at_reset(700, START, END, after) == 700
    first_minutes = dt.datetime(2026, 1, 1, 0, 10, tzinfo=dt.UTC)
    assert forecast_used_at_reset(3, START, END, first_minutes) == 3
    assert forecast_used_at_reset(3, None, END, after) is None
    assert forecast_used_at_reset(3, END, START, after) is None
    assert forecast_used_at_reset(None, START, END, after) is None


@given(
    used=st.integers(min_value=0, max_value=10**9),
    elapsed_h=st.integers(min_value=1, max_value=24 * 30),
)
def test_forecast_never_below_used(used: int, elapsed_h: int) -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=elapsed_h)
    forecast = forecast_used_at_reset(used, START, END, now)
    assert forecast is not None
    assert forecast >= used


def test_overage_risk() -> None:
    assert overage_risk(40001.0, 40000) is True
    assert overage_risk(40000.0, 40000) is False
    assert overage_risk(None, 40000) is False
    assert overage_risk(10.0, 0) is False


def test_period_start_by_frequency() -> None:
    wednesday = dt.date(2026, 3, 18)
    assert period_start("monthly", wednesday) == dt.date(2026, 3, 1)
    assert period_start(None, wednesday) == dt.date(2026, 3, 1)
    assert period_start("weekly", wednesday) == dt.date(2026, 3, 16)
    assert period_start("daily", wednesday) == wednesday
