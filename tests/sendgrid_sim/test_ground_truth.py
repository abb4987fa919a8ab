"""The client's values against the simulator world's ground truth.

Every expected value is read from `world.accounts` (the data the simulator
serves), never from what the client returned earlier.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest
from tests.support.fakes import FakeClock
from tests.support.simulator import client_for, key_of

from smp.sendgrid import SendGridClient
from smp.simulator import Account, Simulator, World
from smp.simulator.world import INVOICE_FORMATS, METRIC_NAMES, DailyStat


def _sum_days(days: list[DailyStat], start: dt.date, end: dt.date) -> Counter[str]:
    total: Counter[str] = Counter()
    for day in days:
        if start.isoformat() <= day["date"] <= end.isoformat():
            total.update(day["metrics"])
    return total


def _full(sim: Simulator, clock: FakeClock, account: Account) -> SendGridClient:
    return client_for(sim, key_of(sim.world, "full", account), clock)


@pytest.mark.parametrize("page_size", [7, 500])
async def test_every_teammate_exactly_once(
    world: World, sim: Simulator, clock: FakeClock, page_size: int
) -> None:
    for account in world.accounts:
        async with _full(sim, clock, account) as client:
            got = [t async for t in client.teammates(page_size=page_size)]
        expected = account.teammates
        assert [t.username for t in got] == [t["username"] for t in expected]
        for mate, truth in zip(got, expected, strict=True):
            assert mate.email == truth["email"]
            assert mate.user_type == truth["user_type"]
            assert mate.is_admin == truth["is_admin"]
            assert mate.is_sso == truth["is_sso"]
        owners = [t for t in got if t.user_type == "owner"]
        assert [o.username for o in owners] == [account.username]


async def test_teammate_and_subuser_pages_are_the_worlds_lists_in_chunks(
    world: World, sim: Simulator, clock: FakeClock
) -> None:
    account = world.accounts[0]
    async with _full(sim, clock, account) as client:
        mates = [
            [t.username for t in page]
            async for page in client.teammate_pages(page_size=10)
        ]
        subs = [
            [s.id for s in page] async for page in client.subuser_pages(page_size=3)
        ]
    names = [t["username"] for t in account.teammates]
    # 43 teammates: four full pages and a short one, no empty page after it.
    assert mates == [names[i : i + 10] for i in range(0, len(names), 10)]
    ids = [s.id for s in account.subusers]
    chunks = [ids[i : i + 3] for i in range(0, len(ids), 3)]
    if len(ids) % 3 == 0:
        chunks.append([])  # a full last page costs one empty page
    assert subs == chunks


async def test_teammate_detail_carries_the_worlds_scopes(
    world: World, sim: Simulator, clock: FakeClock
) -> None:
    account = world.accounts[0]
    async with _full(sim, clock, account) as client:
        for truth in account.teammates[:6]:
            detail = await client.teammate(truth["username"])
            assert detail.scopes == truth["scopes"]
            assert detail.first_name == truth["first_name"]


async def test_pending_invites_including_expired_ones(
    world: World, sim: Simulator, clock: FakeClock
) -> None:
    for account in world.accounts:
        async with _full(sim, clock, account) as client:
            invites = await client.pending_invites()
        assert [
            (i.email, i.invite_id, i.expiration_date, i.is_admin) for i in invites
        ] == [
            (p["email"], p["token"], p["expiration_date"], p["is_admin"])
            for p in account.pending
        ]
    # The world has invites that already expired; the client must not drop them.
    today = dt.datetime.fromisoformat(world.today + "T00:00:00+00:00").timestamp()
    assert any(p["expiration_date"] < today for p in world.accounts[0].pending)


async def test_subusers_and_their_credits(
    world: World, sim: Simulator, clock: FakeClock
) -> None:
    for account in world.accounts:
        async with _full(sim, clock, account) as client:
            subusers = [s async for s in client.subusers(page_size=3)]
            credits = {
                s.username: await client.subuser_credits(s.username) for s in subusers
            }
        assert [
            (s.id, s.username, s.email, s.disabled, s.region) for s in subusers
        ] == [
            (s.id, s.username, s.email, s.disabled, s.region) for s in account.subusers
        ]
        for sub in account.subusers:
            got = credits[sub.username]
            assert (got.type, got.remain, got.total, got.used, got.reset_frequency) == (
                sub.credits["type"],
                sub.credits["remain"],
                sub.credits["total"],
                sub.credits["used"],
                sub.credits["reset_frequency"],
            )


async def test_user_endpoints(world: World, sim: Simulator, clock: FakeClock) -> None:
    for account in world.accounts:
        async with _full(sim, clock, account) as client:
            credits = await client.user_credits()
            username = await client.user_username()
            user_account = await client.user_account()
            email = await client.user_email()
            profile = await client.user_profile()
        truth = account.credits
        assert (credits.remain, credits.total, credits.used, credits.overage) == (
            truth["remain"],
            truth["total"],
            truth["used"],
            truth["overage"],
        )
        assert credits.last_reset == dt.date.fromisoformat(truth["last_reset"])
        assert credits.next_reset == dt.date.fromisoformat(truth["next_reset"])
        assert (username.username, username.user_id) == (
            account.username,
            account.user_id,
        )
        assert (user_account.type, user_account.reputation) == (
            account.type,
            account.reputation,
        )
        assert email.email == account.email
        assert profile.company == account.profile["company"]


@pytest.mark.parametrize("aggregated_by", ["day", "week", "month"])
async def test_stats_sums(
    world: World, sim: Simulator, clock: FakeClock, aggregated_by: str
) -> None:
    account = world.accounts[0]
    start = dt.date.fromisoformat(account.daily_stats[0]["date"]) + dt.timedelta(3)
    end = dt.date.fromisoformat(world.today) - dt.timedelta(2)
    async with _full(sim, clock, account) as client:
        days = [
            d
            async for d in client.stats(
                start, end, aggregated_by=aggregated_by, page_size=9
            )
        ]
    got: Counter[str] = Counter()
    for day in days:
        assert start <= day.date <= end
        for entry in day.stats:
            got.update(entry.metrics.model_dump())
    expected = _sum_days(account.daily_stats, start, end)
    assert {m: got[m] for m in METRIC_NAMES} == {m: expected[m] for m in METRIC_NAMES}
    if aggregated_by == "day":
        by_date = {d["date"]: d["metrics"]["requests"] for d in account.daily_stats}
        for day in days:
            assert day.stats[0].metrics.requests == by_date[day.date.isoformat()]


async def test_subuser_stats_and_monthly_stats(
    world: World, sim: Simulator, clock: FakeClock
) -> None:
    account = world.accounts[1]
    today = dt.date.fromisoformat(world.today)
    start = today.replace(day=1) - dt.timedelta(days=20)
    names = [s.username for s in account.subusers]
    async with _full(sim, clock, account) as client:
        days = [d async for d in client.subuser_stats(names, start, today, page_size=8)]
        monthly = [e async for e in client.subuser_monthly_stats(today, page_size=3)]
    per_sub: dict[str, Counter[str]] = {name: Counter() for name in names}
    for day in days:
        for entry in day.stats:
            assert entry.name is not None
            per_sub[entry.name].update(entry.metrics.model_dump())
    for sub in account.subusers:
        expected = _sum_days(sub.daily_stats, start, today)
        assert per_sub[sub.username]["delivered"] == expected["delivered"]
        assert per_sub[sub.username]["requests"] == expected["requests"]
    assert sorted(e.name or "" for e in monthly) == sorted(names)
    for entry in monthly:
        sub = next(s for s in account.subusers if s.username == entry.name)
        expected = _sum_days(sub.daily_stats, today.replace(day=1), today)
        assert entry.metrics.requests == expected["requests"]


async def test_on_behalf_of_reads_the_subusers_own_data(
    world: World, sim: Simulator, clock: FakeClock
) -> None:
    account = world.accounts[0]
    sub = account.subusers[1]
    start = dt.date.fromisoformat(world.today) - dt.timedelta(days=40)
    async with _full(sim, clock, account) as client:
        mates = [t async for t in client.teammates(on_behalf_of=sub.username)]
        credits = await client.user_credits(on_behalf_of=sub.username)
        days = [d async for d in client.stats(start, on_behalf_of=sub.username)]
    assert [m.username for m in mates] == [sub.username]
    assert (credits.used, credits.total) == (sub.credits["used"], sub.credits["total"])
    requests = sum(e.metrics.requests for d in days for e in d.stats)
    end = dt.date.fromisoformat(world.today)
    assert requests == _sum_days(sub.daily_stats, start, end)["requests"]


async def test_subuser_access_per_teammate(
    world: World, sim: Simulator, clock: FakeClock
) -> None:
    account = world.accounts[0]
    ids = {s.id: s.username for s in account.subusers}
    async with _full(sim, clock, account) as client:
        for mate in account.teammates[:12]:
            access = await client.subuser_access(mate["username"], page_size=2)
            truth = account.subuser_access.get(mate["username"], [])
            assert access.has_restricted_subuser_access is not mate["is_admin"]
            assert [
                (a.id, a.username, a.permission_type, a.scopes) for a in access.subusers
            ] == [
                (
                    t["subuser_id"],
                    ids[t["subuser_id"]],
                    t["permission_type"],
                    t["scopes"],
                )
                for t in truth
            ]


async def test_api_keys_and_own_key(
    world: World, sim: Simulator, clock: FakeClock
) -> None:
    account = world.accounts[1]
    key = key_of(world, "full", account)
    async with client_for(sim, key, clock) as client:
        listed = await client.api_keys()
        own = await client.own_api_key()
        scopes = await client.scopes()
    live = [
        k for k in world.keys if k.account == account.username and k.kind != "revoked"
    ]
    assert [(k.api_key_id, k.name) for k in listed] == [
        (k.key_id, k.name) for k in live
    ]
    assert (own.api_key_id, own.name, own.scopes) == (key.key_id, key.name, key.scopes)
    assert scopes == key.scopes


@pytest.mark.parametrize("invoice_format", INVOICE_FORMATS)
async def test_invoices_in_every_shape(
    world: World, sim: Simulator, clock: FakeClock, invoice_format: str
) -> None:
    sim.replace_world(world.model_copy(update={"invoice_format": invoice_format}))
    account = world.accounts[0]
    async with client_for(sim, key_of(world, "billing", account), clock) as client:
        invoices = [i async for i in client.invoices(page_size=3)]
    # The simulator lists newest first.
    truth = list(reversed(account.invoices))
    assert [i.invoice_number for i in invoices] == [t["invoice_number"] for t in truth]
    for got, expected in zip(invoices, truth, strict=True):
        # Decimal equality ignores trailing zeros ("19.90" == 19.9).
        assert got.amount == Decimal(str(expected["amount"]))
        assert got.unpaid_balance == Decimal(str(expected["unpaid_balance"]))
        assert got.date == dt.date.fromisoformat(expected["date"])
        assert got.period_start == dt.date.fromisoformat(expected["period_start"])
        assert got.period_end == dt.date.fromisoformat(expected["period_end"])
        assert got.status == expected["status"]


async def test_validation_jobs(world: World, sim: Simulator, clock: FakeClock) -> None:
    def utc(epoch: int) -> dt.datetime:
        return dt.datetime.fromtimestamp(epoch, dt.UTC)

    # E-mail validation is Pro plans and up: the free account is refused.
    for account in [a for a in world.accounts if a.type == "paid"]:
        key = key_of(world, "validation", account)
        async with client_for(sim, key, clock) as client:
            jobs = await client.validation_jobs()
        assert [(j.id, j.status, j.started_at, j.finished_at) for j in jobs] == [
            (j["id"], j["status"], utc(j["started_at"]), utc(j["finished_at"]))
            for j in account.validation_jobs
        ]
