"""Which volume months the engine still has to fetch.

Each rule runs on the days where calendars break and on the real date; the
expected months come from `tests.support.months`, not from SMP's arithmetic.
"""

from __future__ import annotations

import datetime as dt

import pytest
from tests.support.months import edge_days, month_end, month_start

from smp.model import add_months, is_month_closed, months_to_fetch


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


@pytest.mark.parametrize("today", edge_days())
def test_add_months_crosses_month_and_year_ends(today: dt.date) -> None:
    this_month = month_start(today)
    assert add_months(this_month, -1) == month_start(today, 1)
    assert add_months(today, -1) == month_start(today, 1)
    assert add_months(month_start(today, 1), 1) == this_month
    assert add_months(month_start(today, 13), 13) == this_month
    assert add_months(this_month, -24) == month_start(today, 24)


@pytest.mark.parametrize("today", edge_days())
def test_month_closes_two_days_after_its_end(today: dt.date) -> None:
    month = month_start(today)
    next_month = _midnight(month_end(today) + dt.timedelta(days=1))
    last_hour = next_month - dt.timedelta(hours=1)
    assert not is_month_closed(month, last_hour)
    assert not is_month_closed(month, next_month + dt.timedelta(days=2, seconds=-1))
    assert is_month_closed(month, next_month + dt.timedelta(days=2))
    # A naive moment is UTC.
    assert is_month_closed(month, next_month.replace(tzinfo=None) + dt.timedelta(2))


@pytest.mark.parametrize("today", edge_days())
def test_first_sync_fetches_the_whole_history(today: dt.date) -> None:
    months = months_to_fetch({}, today, history_months=24)
    assert months == [month_start(today, back) for back in range(23, -1, -1)]


@pytest.mark.parametrize("today", edge_days())
def test_later_syncs_fetch_only_open_months(today: dt.date) -> None:
    stored = {month_start(today, back): True for back in range(1, 24)}
    last_month, this_month = month_start(today, 1), month_start(today)
    stored[last_month] = False  # fetched while last month was running
    stored[this_month] = False
    assert months_to_fetch(stored, today) == [last_month, this_month]
    # A month older than the window is never fetched again.
    stored[month_start(today, 30)] = False
    assert months_to_fetch(stored, today) == [last_month, this_month]
