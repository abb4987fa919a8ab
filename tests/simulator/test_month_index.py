"""Monthly stats from the precomputed MonthIndex equal the day-by-day walk."""

from __future__ import annotations

import datetime as dt
from typing import cast

from hypothesis import given, settings
from hypothesis import strategies as st

from smp.simulator.stats import aggregate, month_index
from smp.simulator.world import METRIC_NAMES, DailyStat, Metrics

# Three years' ends and a leap day (2028-02-29) in the range.
FIRST = dt.date(2025, 12, 1)
LAST = dt.date(2028, 3, 31)


def day_stat(day: dt.date, sent: int) -> DailyStat:
    metrics = cast(
        Metrics, {name: (sent * (i + 1)) % 97 for i, name in enumerate(METRIC_NAMES)}
    )
    return {"date": day.isoformat(), "metrics": metrics}


dates = st.dates(min_value=FIRST, max_value=LAST)
series = st.lists(
    st.tuples(dates, st.integers(min_value=0, max_value=10_000)), max_size=120
)


@settings(max_examples=300, deadline=None)
@given(series, dates, dates)
def test_by_month_equals_the_daily_walk(
    days: list[tuple[dt.date, int]], start: dt.date, end: dt.date
) -> None:
    # Repeated dates are in the mix: the later one counts, as in the walk.
    daily = [day_stat(day, sent) for day, sent in days]
    walked = aggregate(daily, start, end, "month")
    indexed = aggregate(daily, start, end, "month", month_index(daily))
    assert indexed == walked


def test_a_non_canonical_date_is_ignored_by_both() -> None:
    daily = [
        day_stat(dt.date(2026, 3, 5), 7),
        {**day_stat(dt.date(2026, 3, 6), 9), "date": "20260306"},
    ]
    start, end = dt.date(2026, 3, 1), dt.date(2026, 3, 31)
    walked = aggregate(daily, start, end, "month")
    assert aggregate(daily, start, end, "month", month_index(daily)) == walked
    assert walked[0][1] == daily[0]["metrics"]
