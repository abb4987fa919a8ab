"""The simulator's clock: worlds built for a date, and worlds that live on."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from tests.support.months import month_end, real_today
from typer.testing import CliRunner

from smp.cli.main import app
from smp.simulator import Simulator, generate_world
from smp.simulator.calendar import advance_world
from smp.simulator.daily import utc_today
from smp.simulator.world import World

# Pairs of (the day a world is built, the day it is served) across the
# calendar's edges: a month end, a year end, a leap day, a short month; and
# from the day the tests run to its next month's first day.
CROSSINGS = [
    (real_today(), month_end(real_today()) + dt.timedelta(days=1)),
    (dt.date(2026, 12, 31), dt.date(2027, 1, 1)),
    (dt.date(2028, 2, 28), dt.date(2028, 2, 29)),
    (dt.date(2028, 2, 29), dt.date(2028, 3, 1)),
    (dt.date(2027, 1, 31), dt.date(2027, 3, 2)),
    (dt.date(2027, 6, 14), dt.date(2027, 6, 15)),
]


def _days(world: World) -> dict[tuple[str, str], dict[str, int]]:
    days: dict[tuple[str, str], dict[str, int]] = {}
    for account in world.accounts:
        for day in account.daily_stats:
            days[(account.username, day["date"])] = dict(day["metrics"])
        for sub in account.subusers:
            for day in sub.daily_stats:
                days[(sub.username, day["date"])] = dict(day["metrics"])
    return days


def _world(today: dt.date) -> World:
    return generate_world(7, accounts=2, teammates=5, subusers=2, months=3, today=today)


def test_the_default_date_is_the_clock_s_utc_date() -> None:
    before = utc_today()
    world = generate_world(3, accounts=1)
    assert world.today in {before.isoformat(), utc_today().isoformat()}
    assert world.accounts[0].daily_stats[-1]["date"] == world.today


def test_people_and_keys_do_not_depend_on_the_date() -> None:
    early, late = _world(dt.date(2027, 5, 1)), _world(dt.date(2031, 11, 30))
    assert [k.key for k in early.keys] == [k.key for k in late.keys]
    assert [a.teammates for a in early.accounts] == [a.teammates for a in late.accounts]


@pytest.mark.parametrize(("built", "served"), CROSSINGS)
def test_a_world_that_lived_on_equals_one_built_later(
    built: dt.date, served: dt.date
) -> None:
    lived = _world(built)
    assert advance_world(lived, served)
    fresh = _world(served)
    assert lived.today == fresh.today == served.isoformat()
    lived_days, fresh_days = _days(lived), _days(fresh)
    shared = lived_days.keys() & fresh_days.keys()
    # The fresh world's history starts later; every day both have is equal,
    # and the lived world has every day up to the new date.
    assert len(shared) == len(fresh_days)
    assert all(lived_days[k] == fresh_days[k] for k in shared)
    for old, new in zip(lived.accounts, fresh.accounts, strict=True):
        assert old.credits == new.credits
        assert old.credits["last_reset"] == served.replace(day=1).isoformat()
        for old_sub, new_sub in zip(old.subusers, new.subusers, strict=True):
            assert old_sub.credits["used"] == new_sub.credits["used"]


def test_advancing_to_the_same_day_or_back_changes_nothing() -> None:
    world = _world(dt.date(2027, 8, 31))
    before = world.to_json()
    assert not advance_world(world, dt.date(2027, 8, 31))
    assert not advance_world(world, dt.date(2027, 8, 30))
    assert world.to_json() == before


async def _stats(
    sim: Simulator, world: World, start: dt.date, end: dt.date | None = None
) -> httpx.Response:
    key = next(k.key for k in world.keys if k.kind == "full")
    transport = sim.transport()
    async with httpx.AsyncClient(transport=transport, base_url="http://sg") as c:
        return await c.get(
            "/v3/stats",
            params={"start_date": start.isoformat(), "aggregated_by": "day"}
            | ({"end_date": end.isoformat()} if end else {}),
            headers={"Authorization": f"Bearer {key}"},
        )


async def test_a_pinned_simulator_refuses_tomorrow_and_grows_when_moved_on() -> None:
    built = dt.date(2027, 12, 31)
    world = _world(built)
    sim = Simulator(world, today=built)
    tomorrow = built + dt.timedelta(days=1)
    refused = await _stats(sim, world, tomorrow, tomorrow)
    assert refused.status_code == 400
    assert "future" in refused.json()["errors"][0]["message"]
    sim.pinned_today = tomorrow  # the clock moves on, as it would overnight
    served = await _stats(sim, world, tomorrow)
    assert served.status_code == 200
    assert [d["date"] for d in served.json()] == ["2028-01-01"]
    assert world.today == "2028-01-01"
    assert world.accounts[0].credits["last_reset"] == "2028-01-01"


async def test_a_clock_that_goes_back_hides_the_later_days_and_keeps_them() -> None:
    built = dt.date(2027, 3, 1)
    world = _world(built)
    sim = Simulator(world, today=built - dt.timedelta(days=1))
    yesterday = built - dt.timedelta(days=2)
    body = (await _stats(sim, world, yesterday)).json()
    assert [d["date"] for d in body] == ["2027-02-27", "2027-02-28"]
    assert world.accounts[0].daily_stats[-1]["date"] == "2027-03-01"


def test_serve_refuses_a_malformed_today_in_one_line() -> None:
    result = CliRunner().invoke(app, ["simulator", "serve", "--today", "31/12/2027"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: --today: '31/12/2027' is not a YYYY-MM-DD date"
    ]
