"""A world that lives: it grows by the days its clock has passed.

A simulator serving for days, or a world file saved one month and served the
next, must answer as SendGrid would on the new date: the new days have sent
mail, and a monthly credit period that ended has reset. Each new day's figures
are the ones a world built on that date has (`smp.simulator.daily`).

A clock that goes back changes nothing here: the handlers hide the days after
it (`Call.today`), and what already happened stays.
"""

from __future__ import annotations

import datetime as dt

from smp.simulator.daily import (
    SUBUSER_SCALE,
    account_scale,
    days_between,
    month_start,
    monthly_credits,
    requests_since,
)
from smp.simulator.world import DailyStat, Subuser, World


def advance_world(world: World, today: dt.date) -> bool:
    """Grow `world` in place up to `today`; False if it already reached it."""
    if today <= world.today_date():
        return False
    seed = world.seed or 0
    for account in world.accounts:
        credits = account.credits
        scale = account_scale(seed, account.username, credits["total"])
        _extend(account.daily_stats, seed, account.username, today, scale)
        if credits["reset_frequency"] == "monthly":
            account.credits = monthly_credits(
                credits["total"], account.daily_stats, today
            )
        for sub in account.subusers:
            _extend(sub.daily_stats, seed, sub.username, today, SUBUSER_SCALE)
            _renew_subuser_credits(sub, today)
    world.today = today.isoformat()
    return True


def _extend(
    days: list[DailyStat], seed: int, sender: str, today: dt.date, scale: int
) -> None:
    if not days:
        return  # a sender with no history has not started sending
    after = dt.date.fromisoformat(days[-1]["date"]) + dt.timedelta(days=1)
    days.extend(days_between(seed, sender, after, today, scale))


def _renew_subuser_credits(sub: Subuser, today: dt.date) -> None:
    """A recurring monthly allowance counts this month's sends; others stay."""
    credits = sub.credits
    total = credits["total"]
    if credits["type"] != "recurring" or credits["reset_frequency"] != "monthly":
        return
    if total is None:
        return
    used = requests_since(sub.daily_stats, month_start(today))
    credits["used"] = used
    credits["remain"] = max(0, total - used)
