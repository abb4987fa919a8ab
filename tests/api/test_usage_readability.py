"""The API on credit periods that have ended, and on data no key can read.

Worlds are built with a `today` chosen by the test (a month's or a year's last
day); SMP's clock is moved relative to the period SendGrid returned. Expected
figures and scopes come from the simulator's world.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine
from tests.support.app import (
    Server,
    asgi_client,
    connect_and_sync,
    make_server,
    small_world,
)
from tests.support.months import month_end, real_today
from tests.support.usage import clock_at, midnight, without_scope

from smp.simulator import generate_world

SECOND = dt.timedelta(seconds=1)


async def get(srv: Server, path: str, status: int = 200) -> Any:
    async with asgi_client(srv) as client:
        answer = await client.get(path, headers=srv.auth(srv.viewer_token))
    assert answer.status_code == status, answer.text
    return answer.json()


# A month's last day, a year's, February's in a leap year, and this month's:
# the world's period runs from the first of that month to the first of the next.
@pytest.mark.parametrize(
    "today",
    ["2026-11-30", "2026-12-31", "2028-02-29", month_end(real_today()).isoformat()],
)
async def test_a_period_that_has_reset_is_ended_without_forecast(
    db: Engine, today: str
) -> None:
    world = generate_world(
        seed=11, accounts=1, teammates=8, pending=1, subusers=3, months=4, today=today
    )
    srv = make_server(db, world)
    iid = await connect_and_sync(srv, f"ended {today}")
    credits = world.accounts[0].credits
    reset = midnight(credits["next_reset"])
    assert srv.setup.context.now() < reset  # read on the period's last day
    with clock_at(srv, reset - SECOND):
        running = await get(srv, f"/api/v1/usage?integration={iid}")
        subusers = await get(srv, f"/api/v1/subusers?integration={iid}")
    assert running["period_ended"] is False
    assert running["forecast_used_at_reset"] is not None
    assert [s["credits_period_ended"] for s in subusers["items"]] == [False] * 3
    for moment in (reset, reset + dt.timedelta(days=1), reset + dt.timedelta(days=40)):
        with clock_at(srv, moment):
            ended = await get(srv, f"/api/v1/usage?integration={iid}")
            subusers = await get(srv, f"/api/v1/subusers?integration={iid}")
            sub = world.accounts[0].subusers[0]
            its = await get(
                srv, f"/api/v1/usage?integration={iid}&subuser={sub.username}"
            )
        assert ended["period_ended"] is True
        assert ended["forecast_used_at_reset"] is None
        assert ended["overage_risk"] is False
        # The figures stay the last ones read, with their own dates.
        assert (ended["used"], ended["total"]) == (credits["used"], credits["total"])
        assert (str(ended["last_reset"]), str(ended["next_reset"])) == (
            credits["last_reset"],
            credits["next_reset"],
        )
        assert [s["credits_period_ended"] for s in subusers["items"]] == [True] * 3
        assert (its["used"], its["period_ended"]) == (sub.credits["used"], True)


@pytest.fixture(scope="module")
def restricted(engine: Engine) -> tuple[Server, int]:
    """An integration whose only key is the world's restricted one."""
    srv = make_server(engine, small_world(seed=12))
    return srv, asyncio.run(connect_and_sync(srv, "restricted only", ("restricted",)))


def _scopes(srv: Server, kind: str) -> set[str]:
    return set(next(k for k in srv.world.keys if k.kind == kind).scopes)


async def test_what_the_key_cannot_read_is_named_with_its_scope(
    restricted: tuple[Server, int],
) -> None:
    srv, iid = restricted
    scopes = _scopes(srv, "restricted")
    assert not scopes & {"subusers.read", "stats.read", "billing.read"}
    assert srv.world.accounts[0].subusers, "the account has subusers to miss"
    subusers = await get(srv, f"/api/v1/subusers?integration={iid}")
    assert (subusers["items"], subusers["total"]) == ([], 0)
    assert subusers["unreadable"] == [
        {
            "data": "subusers",
            "missing_scopes": ["subusers.read"],
            "message": "This key cannot read subusers: add subusers.read",
        },
        {
            "data": "subuser_credits",
            "missing_scopes": ["subusers.read", "subusers.credits.read"],
            "message": "This key cannot read subusers' credits: "
            "add subusers.read, subusers.credits.read",
        },
    ]
    volumes = await get(srv, f"/api/v1/volumes?integration={iid}&all_subusers=true")
    assert volumes["items"] == []
    assert [(u["data"], u["missing_scopes"]) for u in volumes["unreadable"]] == [
        ("volume", ["stats.read"]),
        ("subuser_volume", ["stats.read", "subusers.stats.read"]),
    ]
    invoices = await get(srv, f"/api/v1/invoices?integration={iid}")
    assert invoices["items"] == []
    assert invoices["unreadable"] == [
        {
            "data": "invoices",
            "missing_scopes": ["billing.read"],
            "message": "This key cannot read invoices: "
            "connect a key with Billing Access (billing.read)",
        }
    ]
    # Credits it can read: nothing is said to be missing.
    assert "user.credits.read" in scopes
    usage = await get(srv, f"/api/v1/usage?integration={iid}")
    assert (usage["used"], usage["unreadable"]) == (
        srv.world.accounts[0].credits["used"],
        [],
    )
    sub = srv.world.accounts[0].subusers[0].username
    problem = await get(srv, f"/api/v1/usage?integration={iid}&subuser={sub}", 404)
    assert problem["detail"] == (
        "This key cannot read subusers' credits: "
        "add subusers.read, subusers.credits.read"
    )


async def test_a_readable_collection_says_nothing_is_missing(db: Engine) -> None:
    world = without_scope(small_world(seed=13), "full", "subusers.stats.read")
    srv = make_server(db, world)
    iid = await connect_and_sync(srv, "no subuser stats")
    subusers = await get(srv, f"/api/v1/subusers?integration={iid}")
    assert subusers["unreadable"] == []
    assert {s["username"] for s in subusers["items"]} == {
        s.username for s in world.accounts[0].subusers
    }
    account_only = await get(srv, f"/api/v1/volumes?integration={iid}")
    assert account_only["unreadable"] == []
    volumes = await get(srv, f"/api/v1/volumes?integration={iid}&all_subusers=true")
    full_key = next(k for k in srv.world.keys if k.kind == "full")
    assert volumes["unreadable"] == [
        {
            "data": "subuser_volume",
            "missing_scopes": ["subusers.stats.read"],
            "message": f"Key SG.{full_key.key_id}… cannot read subusers' volume: "
            "add subusers.stats.read",
        }
    ]
    assert {v["subuser"] for v in volumes["items"]} == {None}


async def test_a_key_without_teammates_read_cannot_read_members(db: Engine) -> None:
    world = without_scope(small_world(seed=17), "restricted", "teammates.read")
    srv = make_server(db, world)
    iid = await connect_and_sync(srv, "no teammates", ("restricted",))
    said = {
        "data": "members",
        "missing_scopes": ["teammates.read"],
        "message": "This key cannot read members: add teammates.read",
    }
    for path in ("members", "member-events"):
        page = await get(srv, f"/api/v1/{path}?integration={iid}")
        assert (page["items"], page["unreadable"]) == ([], [said]), path
    invites = await get(srv, f"/api/v1/invites?integration={iid}")
    assert [u["message"] for u in invites["unreadable"]] == [
        "This key cannot read pending invites: add teammates.read"
    ]
    usage = await get(srv, f"/api/v1/usage?integration={iid}")
    assert (usage["used"], usage["unreadable"]) == (
        world.accounts[0].credits["used"],
        [],
    )
