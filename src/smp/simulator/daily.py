"""Daily sending figures and the credits that follow from them.

A day's figures are a pure function of (seed, sender, date, scale): they do not
depend on the day the world was built. So the members and keys of a seed are
the same whatever the date, and a world can grow by the days that pass
(`smp.simulator.calendar`) with exactly the figures a world built later has.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import cast

from smp.simulator.world import METRIC_NAMES, Credits, DailyStat, Metrics

SUBUSER_SCALE = 3_000


def utc_today() -> dt.date:
    """The wall clock's date in UTC, the calendar SendGrid's stats use here."""
    return dt.datetime.now(dt.UTC).date()


def month_start(day: dt.date, back: int = 0) -> dt.date:
    """The first day of the month `back` months before `day`'s (negative: after)."""
    index = day.year * 12 + day.month - 1 - back
    return dt.date(index // 12, index % 12 + 1, 1)


def _metrics(rng: random.Random, scale: int) -> Metrics:
    requests = rng.randint(0, scale)
    processed = requests - rng.randint(0, requests // 50)
    delivered = processed - rng.randint(0, processed // 20)
    opens = rng.randint(0, delivered)
    clicks = rng.randint(0, opens // 3)
    values = dict.fromkeys(METRIC_NAMES, 0)
    values.update(
        requests=requests,
        processed=processed,
        delivered=delivered,
        bounces=rng.randint(0, max(0, processed - delivered)),
        deferred=rng.randint(0, processed // 100),
        blocks=rng.randint(0, processed // 200),
        bounce_drops=rng.randint(0, 3),
        invalid_emails=rng.randint(0, 3),
        spam_reports=rng.randint(0, 2),
        spam_report_drops=rng.randint(0, 1),
        opens=opens,
        unique_opens=opens * 2 // 3,
        clicks=clicks,
        unique_clicks=clicks * 2 // 3,
        unsubscribes=rng.randint(0, 2),
        unsubscribe_drops=rng.randint(0, 1),
    )
    return cast(Metrics, values)


def day_stat(seed: int, sender: str, day: dt.date, scale: int) -> DailyStat:
    # A string seed is hashed with SHA-512: stable across runs and machines.
    rng = random.Random(f"{seed}/{sender}/{day.isoformat()}")
    return DailyStat(date=day.isoformat(), metrics=_metrics(rng, scale))


def days_between(
    seed: int, sender: str, first: dt.date, last: dt.date, scale: int
) -> list[DailyStat]:
    """One stat a day from `first` to `last`, both included."""
    days: list[DailyStat] = []
    day = first
    while day <= last:
        days.append(day_stat(seed, sender, day, scale))
        day += dt.timedelta(days=1)
    return days


def account_scale(seed: int, account: str, total: int) -> int:
    """Daily volume near the plan's allowance: some accounts run into overage."""
    rng = random.Random(f"{seed}/{account}/scale")
    return int(total / 30 * rng.uniform(0.5, 2.4))


def requests_since(days: list[DailyStat], since: dt.date) -> int:
    start = since.isoformat()
    return sum(d["metrics"]["requests"] for d in days if d["date"] >= start)


def monthly_credits(total: int, days: list[DailyStat], today: dt.date) -> Credits:
    """A monthly allowance of `total` in the month of `today`, used by `days`."""
    last_reset = month_start(today)
    used = requests_since(days, last_reset)
    return Credits(
        remain=max(0, total - used),
        total=total,
        overage=max(0, used - total),
        used=used,
        last_reset=last_reset.isoformat(),
        next_reset=month_start(today, -1).isoformat(),
        reset_frequency="monthly",
    )
