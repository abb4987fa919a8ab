"""Which volume months the engine still has to fetch."""

from __future__ import annotations

import datetime as dt

from smp.model import add_months, is_month_closed, months_to_fetch


def test_add_months_crosses_years() -> None:
    assert add_months(dt.date(2026, 1, 1), -1) == dt.date(2025, 12, 1)
    assert add_months(dt.date(2025, 12, 1), 1) == dt.date(2026, 1, 1)
    assert add_months(dt.date(2026, 3, 1), -24) == dt.date(2024, 3, 1)


def test_month_closes_after_its_end_plus_grace() -> None:
    jan = dt.date(2026, 1, 1)
    assert not is_month_closed(jan, dt.datetime(2026, 1, 31, 23, tzinfo=dt.UTC))
    assert not is_month_closed(jan, dt.datetime(2026, 2, 2, 23, tzinfo=dt.UTC))
    assert is_month_closed(jan, dt.datetime(2026, 2, 3, 0, tzinfo=dt.UTC))


def test_first_sync_fetches_the_whole_history() -> None:
    months = months_to_fetch({}, dt.date(2026, 3, 18), history_months=24)
    assert len(months) == 24
    assert months[0] == dt.date(2024, 4, 1)
    assert months[-1] == dt.date(2026, 3, 1)


def test_later_syncs_fetch_only_open_months() -> None:
    today = dt.date(2026, 3, 18)
    stored = {add_months(dt.date(2026, 3, 1), -i): True for i in range(1, 24)}
    stored[dt.date(2026, 2, 1)] = False  # fetched while February was running
    stored[dt.date(2026, 3, 1)] = False
    assert months_to_fetch(stored, today) == [dt.date(2026, 2, 1), dt.date(2026, 3, 1)]
