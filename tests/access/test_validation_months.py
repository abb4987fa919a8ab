"""Validation usage per month across month and year ends, and what SMP may say.

Jobs sit on the last second of one month and the first of the next, around
each of tests/support/months' edge days and the real date.
"""

from __future__ import annotations

import datetime as dt

import pytest
from tests.support.months import edge_days, month_start

from smp.model.access import (
    VALIDATION_BOUND_NOTE,
    ValidationJob,
    validation_months,
)


def _at(day: dt.date, seconds: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), dt.UTC) + dt.timedelta(seconds=seconds)


@pytest.mark.parametrize("day", edge_days())
def test_a_job_counts_in_the_utc_month_it_started(day: dt.date) -> None:
    first = month_start(day)
    previous = month_start(day, 1)
    jobs = [
        ValidationJob("last-second", started_at=_at(first, -1), segments=3),
        ValidationJob("first-second", started_at=_at(first), segments=5),
        ValidationJob("the-day", started_at=_at(day, 3600), segments=7),
        # Details never read: a job, with no segments known.
        ValidationJob("no-details", started_at=_at(day, 7200)),
        ValidationJob("never-started"),
        # 23:30 the day before in New York is already the next day in UTC.
        ValidationJob(
            "offset",
            started_at=dt.datetime.combine(
                first - dt.timedelta(days=1),
                dt.time(23, 30),
                dt.timezone(dt.timedelta(hours=-5)),
            ),
            segments=11,
        ),
    ]
    got = [
        (m.month, m.jobs, m.segments, m.jobs_not_read, m.addresses_up_to, m.summary)
        for m in validation_months(jobs)
    ]
    assert got == [
        (previous, 1, 3, 0, 4_500, "3 segments, up to 4,500 addresses"),
        # The job not read leaves the month without a bound: "at least".
        (first, 4, 5 + 7 + 11, 1, None, "at least 23 segments; 1 job not read"),
    ]


def test_the_bound_is_explained_and_single_validations_are_not_counted() -> None:
    assert "1,500" in VALIDATION_BOUND_NOTE
    assert "single validations are not available from SendGrid" in VALIDATION_BOUND_NOTE
