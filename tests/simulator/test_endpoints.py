"""Every endpoint and parameter, checked against the world's ground truth."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from tests.support.keys import auth, key_of
from tests.support.months import month_start

from smp.simulator import Simulator, World, generate_world
from smp.simulator.world import METRIC_NAMES


async def test_paging_through_teammates_yields_each_once(world: World, client) -> None:
    headers = auth(key_of(world, "full"))
    seen: list[str] = []
    offset = 0
    while True:
        page = (
            await client.get(
                "/v3/teammates", params={"limit": 7, "offset": offset}, headers=headers
            )
        ).json()["result"]
        seen += [mate["username"] for mate in page]
        if len(page) < 7:
            break
        offset += 7
    truth = [t["username"] for t in world.accounts[0].teammates]
    assert seen == truth
    default = (await client.get("/v3/teammates", headers=headers)).json()["result"]
    assert len(default) == len(truth)
    assert "scopes" not in default[0]


async def test_teammate_detail_pending_and_user_endpoints(world: World, client) -> None:
    account = world.accounts[0]
    headers = auth(key_of(world, "full"))
    mate = account.teammates[3]
    got = await client.get(f"/v3/teammates/{mate['username']}", headers=headers)
    assert got.json() == mate
    pending = await client.get("/v3/teammates/pending", headers=headers)
    assert pending.json() == {"result": account.pending}
    missing = await client.get("/v3/teammates/nobody", headers=headers)
    assert missing.status_code == 404
    expect = {
        "/v3/user/account": {"type": account.type, "reputation": account.reputation},
        "/v3/user/profile": account.profile,
        "/v3/user/email": {"email": account.email},
        "/v3/user/username": {"username": account.username, "user_id": account.user_id},
        "/v3/user/credits": account.credits,
    }
    for path, body in expect.items():
        assert (await client.get(path, headers=headers)).json() == body


async def test_subuser_access_keyset_pagination(world: World, client) -> None:
    account = world.accounts[0]
    headers = auth(key_of(world, "full"))
    name = next(n for n, entries in account.subuser_access.items() if len(entries) >= 2)
    ids: list[int] = []
    params: dict[str, object] = {"limit": 1}
    while True:
        body = (
            await client.get(
                f"/v3/teammates/{name}/subuser_access", params=params, headers=headers
            )
        ).json()
        ids += [entry["id"] for entry in body["subuser_access"]]
        after = body["_metadata"]["next_params"]["after_subuser_id"]
        if after is None:
            break
        params = {"limit": 1, "after_subuser_id": after}
    assert ids == [e["subuser_id"] for e in account.subuser_access[name]]


@pytest.mark.parametrize("by", ["day", "week", "month"])
async def test_stats_aggregation_equals_daily_sums(world: World, client, by) -> None:
    account = world.accounts[0]
    today = world.today_date()
    # From the 13th three months back to today: four months whatever today is.
    start = (month_start(today, 3) + dt.timedelta(days=12)).isoformat()
    end = today.isoformat()
    body = (
        await client.get(
            "/v3/stats",
            params={"start_date": start, "end_date": end, "aggregated_by": by},
            headers=auth(key_of(world, "full")),
        )
    ).json()
    days = [d for d in account.daily_stats if start <= d["date"] <= end]
    assert (days[0]["date"], days[-1]["date"]) == (start, end)
    for metric in METRIC_NAMES:
        served = sum(b["stats"][0]["metrics"][metric] for b in body)
        assert served == sum(d["metrics"][metric] for d in days)
    if by == "month":
        assert [b["date"] for b in body] == [
            start,
            *(month_start(today, back).isoformat() for back in (2, 1, 0)),
        ]
    if by == "day":
        assert [b["date"] for b in body] == [d["date"] for d in days]
    if by == "week":
        mondays = [dt.date.fromisoformat(b["date"]).weekday() for b in body[1:]]
        assert set(mondays) == {0}


async def test_stats_limit_and_offset(world: World, client) -> None:
    # Ten days back, so that the page lies within the world's days on any date.
    start = (world.today_date() - dt.timedelta(days=10)).isoformat()
    body = (
        await client.get(
            "/v3/stats",
            params={"start_date": start, "limit": 3, "offset": 2},
            headers=auth(key_of(world, "full")),
        )
    ).json()
    days = [d["date"] for d in world.accounts[0].daily_stats if d["date"] >= start]
    assert days[0] == start
    assert [b["date"] for b in body] == days[2:5]


async def test_subusers_filters_and_credits(world: World, client) -> None:
    account = world.accounts[0]
    headers = auth(key_of(world, "full"))
    listed = (await client.get("/v3/subusers", headers=headers)).json()
    assert [s["username"] for s in listed] == [s.username for s in account.subusers]
    assert "region" not in listed[0]
    eu = (
        await client.get(
            "/v3/subusers",
            params={"region": "eu", "include_region": "true"},
            headers=headers,
        )
    ).json()
    assert [s["username"] for s in eu] == [
        s.username for s in account.subusers if s.region == "eu"
    ]
    assert all(s["region"] == "eu" for s in eu)
    page = (
        await client.get(
            "/v3/subusers", params={"limit": 1, "offset": 1}, headers=headers
        )
    ).json()
    assert [s["username"] for s in page] == [account.subusers[1].username]
    sub = account.subusers[0]
    credits = await client.get(f"/v3/subusers/{sub.username}/credits", headers=headers)
    assert credits.json() == sub.credits
    unknown = await client.get("/v3/subusers/ghost/credits", headers=headers)
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["message"] == "No user found"


async def test_subusers_stats_for_named_subusers(world: World, client) -> None:
    account = world.accounts[0]
    names = [s.username for s in account.subusers[:2]]
    this_month = month_start(world.today_date()).isoformat()
    body = (
        await client.get(
            "/v3/subusers/stats",
            params={
                "subusers": names,
                "start_date": this_month,
                "aggregated_by": "month",
            },
            headers=auth(key_of(world, "full")),
        )
    ).json()
    assert len(body) == 1
    for entry, sub in zip(body[0]["stats"], account.subusers[:2], strict=True):
        truth = sum(
            d["metrics"]["delivered"]
            for d in sub.daily_stats
            if d["date"] >= this_month
        )
        assert entry["name"] == sub.username
        assert entry["metrics"]["delivered"] == truth
    too_many = await client.get(
        "/v3/subusers/stats",
        params={"subusers": ["x"] * 11, "start_date": this_month},
        headers=auth(key_of(world, "full")),
    )
    assert too_many.status_code == 400


async def test_monthly_subuser_stats_default_limit_and_order() -> None:
    world = generate_world(seed=3, accounts=1, subusers=8)
    last_month = month_start(world.today_date(), 1)
    sim = Simulator(world)
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sg") as c:
        body = (
            await c.get(
                "/v3/subusers/stats/monthly",
                params={"date": str(last_month + dt.timedelta(days=16))},
                headers=auth(key_of(world, "full")),
            )
        ).json()
    assert body["date"] == last_month.isoformat()
    totals = {
        s.username: sum(
            d["metrics"]["delivered"]
            for d in s.daily_stats
            if d["date"].startswith(last_month.isoformat()[:7])
        )
        for s in world.accounts[0].subusers
    }
    expected = sorted(totals, key=lambda n: totals[n], reverse=True)[:5]
    assert [row["name"] for row in body["stats"]] == expected
    assert [row["metrics"]["delivered"] for row in body["stats"]] == [
        totals[n] for n in expected
    ]


async def test_api_keys_list_and_flat_detail(world: World, client) -> None:
    full = key_of(world, "full")
    listed = (await client.get("/v3/api_keys", headers=auth(full))).json()["result"]
    account_keys = [
        k for k in world.keys if k.account == full.account and k.kind != "revoked"
    ]
    assert [k["api_key_id"] for k in listed] == [k.key_id for k in account_keys]
    detail = (
        await client.get(f"/v3/api_keys/{full.key_id}", headers=auth(full))
    ).json()
    assert detail == {
        "api_key_id": full.key_id,
        "name": full.name,
        "scopes": full.scopes,
    }


async def test_invoices_and_validation_jobs(world: World, client) -> None:
    account = world.accounts[0]
    billing = auth(key_of(world, "billing"))
    body = (
        await client.get(
            "/v3/billing/invoices", params={"limit": 2, "offset": 1}, headers=billing
        )
    ).json()
    newest_first = list(reversed(account.invoices))
    assert body == {"result": newest_first[1:3]}
    jobs = await client.get(
        "/v3/validations/email/jobs", headers=auth(key_of(world, "validation"))
    )
    # The list leaves out what only a job's own details carry (spec).
    listed = ("id", "status", "started_at", "finished_at")
    assert jobs.json() == {
        "result": [{k: j[k] for k in listed} for j in account.validation_jobs]
    }


@pytest.mark.parametrize(
    ("fmt", "check"),
    [
        ("invoices_key", lambda b, inv: b["invoices"][0]["amount"] == inv["amount"]),
        (
            "data_key",
            lambda b, inv: b["data"][0]["invoice_number"] == inv["invoice_number"],
        ),
        ("bare", lambda b, inv: b[0]["id"] == inv["id"]),
        (
            "total_amount",
            lambda b, inv: b["result"][0]["total_amount"] == inv["amount"],
        ),
        (
            "epoch_dates",
            lambda b, inv: (
                dt.datetime.fromtimestamp(b["result"][0]["date"], dt.UTC)
                .date()
                .isoformat()
                == inv["date"]
            ),
        ),
        (
            "string_amounts",
            lambda b, inv: float(b["result"][0]["amount"]) == inv["amount"],
        ),
    ],
)
async def test_invoice_variants(world: World, fmt, check) -> None:
    sim = Simulator(world.model_copy(update={"invoice_format": fmt}))
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sg") as c:
        body = (
            await c.get("/v3/billing/invoices", headers=auth(key_of(world, "billing")))
        ).json()
    assert check(body, world.accounts[0].invoices[-1])


# Stands for the world's date in the cases below: a valid date, so that only
# `field` is wrong on any day the tests run.
TODAY = "the world's today"


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v3/teammates", {"limit": "-1"}, "limit"),
        ("/v3/teammates", {"limit": "501"}, "limit"),
        ("/v3/teammates", {"offset": "x"}, "offset"),
        ("/v3/stats", {}, "start_date"),
        ("/v3/stats", {"start_date": "2026-13-01"}, "start_date"),
        (
            "/v3/stats",
            {"start_date": TODAY, "end_date": "yesterday"},
            "end_date",
        ),
        (
            "/v3/stats",
            {"start_date": TODAY, "aggregated_by": "year"},
            "aggregated_by",
        ),
        ("/v3/subusers/stats/monthly", {}, "date"),
        (
            "/v3/subusers/stats/monthly",
            {"date": TODAY, "sort_by_metric": "processed"},
            "sort_by_metric",
        ),
        ("/v3/subusers", {"region": "mars"}, "region"),
    ],
)
async def test_bad_query_values_get_400_bodies(
    world: World, client, path, params, field
) -> None:
    params = {k: world.today if v is TODAY else v for k, v in params.items()}
    reply = await client.get(path, params=params, headers=auth(key_of(world, "full")))
    assert reply.status_code == 400
    error = reply.json()["errors"][0]
    assert error["field"] == field
    assert error["message"]


async def test_unknown_path_is_404_with_errors_body(world: World, client) -> None:
    reply = await client.get("/v3/nothing/here", headers=auth(key_of(world, "full")))
    assert reply.status_code == 404
    assert reply.json()["errors"][0]["message"] == "resource not found"
