"""Which months of volume statistics to fetch, so syncs after the first are cheap.

A month is *closed* once it was fetched after its end plus a grace period
(SendGrid's counters settle a little late). Closed months are never fetched
again; open ones (the current month, and any fetched while still running) are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

DEFAULT_HISTORY_MONTHS = 24
GRACE = dt.timedelta(days=2)


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def is_month_closed(month: dt.date, fetched_at: dt.datetime) -> bool:
    """True when the data for `month` was fetched after it ended (plus grace)."""
    first_of_next = add_months(month_start(month), 1)
    end = dt.datetime(
        first_of_next.year, first_of_next.month, first_of_next.day, tzinfo=dt.UTC
    )
    fetched = fetched_at if fetched_at.tzinfo else fetched_at.replace(tzinfo=dt.UTC)
    return fetched >= end + GRACE


def months_to_fetch(
    stored: Mapping[dt.date, bool],
    today: dt.date,
    history_months: int = DEFAULT_HISTORY_MONTHS,
) -> list[dt.date]:
    """Months (first days, oldest first) in the history window that are not closed.

    `stored` maps each stored month to whether it is closed, as returned by
    `smp.storage.stored_volume_months_of`. The window is the current month and the
    `history_months - 1` before it.
    """
    current = month_start(today)
    window = [add_months(current, -offset) for offset in range(history_months)]
    return sorted(month for month in window if not stored.get(month, False))
