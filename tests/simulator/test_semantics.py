"""Auth, scopes, on-behalf-of, rate limits, non-GET methods and the request log."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest
from tests.support.keys import auth, key_of

from smp.simulator import Simulator, World
from smp.simulator.routes import ROUTES

INVALID_GRANT = {
    "errors": [
        {
            "message": "The provided authorization grant is invalid, "
            "expired, or revoked",
            "field": None,
            "help": None,
        }
    ]
}


async def test_missing_bad_and_revoked_keys_get_exact_401_bodies(
    world: World, client
) -> None:
    missing = await client.get("/v3/teammates")
    assert missing.status_code == 401
    assert missing.json() == {
        "errors": [{"field": None, "message": "authorization required"}]
    }
    fake = "SG." + "a" * 22 + "." + "b" * 43
    for headers in (
        {"Authorization": f"Bearer {fake}"},
        auth(key_of(world, "revoked")),
    ):
        reply = await client.get("/v3/teammates", headers=headers)
        assert reply.status_code == 401
        assert reply.json() == INVALID_GRANT


def _concrete(template: str, world: World) -> str:
    account = world.accounts[0]
    return (
        template.replace("{username}", account.teammates[1]["username"])
        .replace("{name}", account.subusers[0].username)
        .replace("{key_id}", key_of(world, "full").key_id)
    )


@pytest.mark.parametrize("kind", ["full", "restricted", "billing", "validation"])
async def test_each_kind_gets_403_exactly_where_it_lacks_the_scope(
    world: World, client, kind
) -> None:
    key = key_of(world, kind)
    params = {"start_date": world.today, "date": world.today, "subusers": "x"}
    for route in ROUTES:
        reply = await client.get(
            _concrete(route.template, world), params=params, headers=auth(key)
        )
        allowed = route.scope is None or route.scope in key.scopes
        if allowed:
            assert reply.status_code != 403, route.template
        else:
            assert reply.status_code == 403, route.template
            assert reply.json() == {
                "errors": [{"field": None, "message": "access forbidden"}]
            }


async def test_on_behalf_of_serves_the_subuser(world: World, sim, client) -> None:
    sub = world.accounts[0].subusers[1]
    headers = {**auth(key_of(world, "full")), "on-behalf-of": sub.username}
    name = (await client.get("/v3/user/username", headers=headers)).json()
    assert name == {"username": sub.username, "user_id": sub.id}
    start = (world.today_date() - dt.timedelta(days=5)).isoformat()
    stats = (
        await client.get("/v3/stats", params={"start_date": start}, headers=headers)
    ).json()
    days = [d for d in sub.daily_stats if d["date"] >= start]
    assert [s["date"] for s in stats] == [d["date"] for d in days]
    assert [s["stats"][0]["metrics"] for s in stats] == [d["metrics"] for d in days]
    assert sim.requests[-1].on_behalf_of == sub.username
    other = world.accounts[1].subusers[0].username
    foreign = await client.get(
        "/v3/user/username",
        headers={**auth(key_of(world, "full")), "on-behalf-of": other},
    )
    assert foreign.status_code == 403


async def test_rate_limit_headers_and_429_after_the_limit(world: World) -> None:
    now = [1_800_000_000.0]
    sim = Simulator(world, rate_limit=3, rate_window_s=60, clock=lambda: now[0])
    headers = auth(key_of(world, "full"))
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sg") as c:
        seen = []
        for _ in range(4):
            reply = await c.get("/v3/user/email", headers=headers)
            seen.append((reply.status_code, reply.headers["X-RateLimit-Remaining"]))
            assert reply.headers["X-RateLimit-Limit"] == "3"
            assert reply.headers["X-RateLimit-Reset"] == "1800000060"
        assert seen == [(200, "2"), (200, "1"), (200, "0"), (429, "0")]
        assert reply.json() == {
            "errors": [{"field": None, "message": "too many requests"}]
        }
        other = await c.get("/v3/user/profile", headers=headers)
        assert other.status_code == 200  # limits are per endpoint
        now[0] += 61
        again = await c.get("/v3/user/email", headers=headers)
        assert again.status_code == 200
        assert again.headers["X-RateLimit-Remaining"] == "2"


async def test_non_get_methods_are_refused_after_auth_and_scope(
    world: World, sim, client
) -> None:
    anonymous = await client.post("/v3/teammates", json={"email": "x@example.com"})
    assert anonymous.status_code == 401
    restricted = await client.post(
        "/v3/teammates",
        json={"email": "x@example.com"},
        headers=auth(key_of(world, "restricted")),
    )
    assert restricted.status_code == 403
    full = await client.delete(
        f"/v3/teammates/{world.accounts[0].teammates[2]['username']}",
        headers=auth(key_of(world, "full")),
    )
    assert full.status_code == 405
    assert [(r.method, r.status) for r in sim.requests] == [
        ("POST", 401),
        ("POST", 403),
        ("DELETE", 405),
    ]
    assert len(world.accounts[0].teammates) == 30  # nothing was written


async def test_request_log_records_what_the_client_sent(
    world: World, sim, client
) -> None:
    key = key_of(world, "full")
    await client.get(
        "/v3/teammates", params={"limit": 5, "offset": 10}, headers=auth(key)
    )
    await client.get("/v3/teammates")
    first, second = sim.requests
    assert (first.method, first.path, first.key_id, first.status) == (
        "GET",
        "/v3/teammates",
        key.key_id,
        200,
    )
    assert first.params == {"limit": ["5"], "offset": ["10"]}
    assert second.key_id is None
    assert second.status == 401
    log = (await client.get("/_sim/requests")).json()
    assert [entry["status"] for entry in log] == [200, 401]
    assert key.key not in json.dumps(log)


async def test_control_surface_replaces_world_and_faults(
    world: World, sim, client
) -> None:
    other = world.model_copy(
        update={"accounts": world.accounts[:1], "keys": world.keys[:5]}
    )
    posted = await client.post("/_sim/world", content=other.to_json())
    assert posted.status_code == 200
    assert sim.world.accounts == other.accounts
    broken = await client.post("/_sim/world", content='{"today": "x"}')
    assert broken.status_code == 400
    assert "accounts" in broken.json()["errors"][0]["message"]
    added = await client.post("/_sim/faults", json={"kind": "status", "status": 502})
    assert added.status_code == 200
    assert (
        await client.get("/v3/scopes", headers=auth(key_of(world, "full")))
    ).status_code == 502
    assert (await client.delete("/_sim/faults")).status_code == 200
    assert (
        await client.get("/v3/scopes", headers=auth(key_of(world, "full")))
    ).status_code == 200
    bad = await client.post("/_sim/faults", json={"kind": "meteor"})
    assert bad.status_code == 400
