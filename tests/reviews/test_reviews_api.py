"""`/api/v1/reviews`: admins create and sign off, a reviewer (a viewer) sees
and decides only their own items (403 for another's), 409 for a closed
campaign or undecided items, 422 for a bad filter; refusals change nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from tests.support.app import Server, asgi_client, connect_and_sync

from smp.model.reviews import ReviewerRule
from smp.services import reviews
from smp.services.reviews import Actor

# The API's words and shapes; storage runs on both databases in test_campaigns.
pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)

ROOT = Actor("root", True, "test")
NOW = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)


@pytest.fixture
async def client(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(server) as opened:
        yield opened


@pytest.fixture(scope="module")
def campaigns(server: Server, engine: Engine) -> dict[str, Any]:
    """Campaign "mine" reviewed by the viewer, "theirs" by the admins."""
    asyncio.run(connect_and_sync(server, "Reviewed"))
    reviews.set_review_owner(engine, "Reviewed", server.viewer, ROOT)
    made = {}
    for name in ("mine", "theirs"):
        made[name] = reviews.create_campaign(
            engine,
            name=f"API {name}",
            integrations=["Reviewed"],
            due=None,
            rule=ReviewerRule.OWNER,
            actor=ROOT,
            now=NOW,
        )
        reviews.set_review_owner(engine, "Reviewed", None, ROOT)
    return made


def _accounts(server: Server) -> int:
    account = server.world.accounts[0]
    return len(account.teammates) + len(account.pending) + len(account.subusers)


async def test_create_and_list(
    server: Server, client: httpx.AsyncClient, campaigns: dict[str, Any]
) -> None:
    admin, viewer = server.auth(server.admin_token), server.auth(server.viewer_token)
    body = {"name": "API created", "integrations": ["Reviewed"], "due": "2027-01-31"}
    refused = await client.post("/api/v1/reviews", headers=viewer, json=body)
    assert refused.status_code == 403
    made = await client.post("/api/v1/reviews", headers=admin, json=body)
    assert made.status_code == 201, made.text
    created = made.json()
    assert created["items"] == _accounts(server)
    assert (created["status"], created["due"], created["decided"]) == (
        "open",
        "2027-01-31",
        0,
    )
    assert len(created["snapshot_sha256"]) == 64
    again = await client.post("/api/v1/reviews", headers=admin, json=body)
    assert again.status_code == 409
    unknown = await client.post(
        "/api/v1/reviews",
        headers=admin,
        json={**body, "name": "x", "integrations": ["nope"]},
    )
    assert unknown.status_code == 404
    listed = await client.get("/api/v1/reviews", headers=viewer)
    assert [c["name"] for c in listed.json()] == ["API mine"]
    everyone = await client.get("/api/v1/reviews", headers=admin)
    assert {"API mine", "API theirs", "API created"} <= {
        c["name"] for c in everyone.json()
    }


async def _items(
    client: httpx.AsyncClient, campaign: int, auth: dict[str, str], **params: Any
) -> list[dict[str, Any]]:
    answer = await client.get(
        f"/api/v1/reviews/{campaign}/items", headers=auth, params=params
    )
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert page["total"] >= len(page["items"])
    found: list[dict[str, Any]] = page["items"]
    return found


async def test_items_are_paged(
    server: Server, client: httpx.AsyncClient, campaigns: dict[str, Any]
) -> None:
    viewer = server.auth(server.viewer_token)
    mine = campaigns["mine"].id
    answer = await client.get(
        f"/api/v1/reviews/{mine}/items",
        headers=viewer,
        params={"limit": 5, "offset": 5, "filter": "kind=teammate"},
    )
    page = answer.json()
    teammates = len(server.world.accounts[0].teammates)
    assert (page["total"], page["limit"], page["offset"]) == (teammates, 5, 5)
    every = await _items(client, mine, viewer, filter="kind=teammate", limit=500)
    assert [i["item_id"] for i in page["items"]] == [i["item_id"] for i in every[5:10]]
    bad = await client.get(
        f"/api/v1/reviews/{mine}/items", headers=viewer, params={"filter": "x=y"}
    )
    assert bad.status_code == 422


async def test_reviewer_sees_and_decides_only_own_items(
    server: Server, client: httpx.AsyncClient, campaigns: dict[str, Any]
) -> None:
    admin, viewer = server.auth(server.admin_token), server.auth(server.viewer_token)
    mine, theirs = campaigns["mine"].id, campaigns["theirs"].id
    own = await _items(client, mine, viewer, limit=500)
    assert len(own) == _accounts(server)
    assert {i["reviewer"] for i in own} == {server.viewer}
    assert await _items(client, theirs, viewer) == []
    # A campaign without one of their items is not theirs to read, as on the web.
    hidden = await client.get(f"/api/v1/reviews/{theirs}", headers=viewer)
    assert hidden.status_code == 403
    assert "API theirs" not in hidden.text
    shown = await client.get(f"/api/v1/reviews/{mine}", headers=viewer)
    assert shown.status_code == 200
    assert shown.json()["items"] == _accounts(server)
    other = await _items(client, theirs, admin)
    before = other[0]
    forbidden = await client.post(
        f"/api/v1/reviews/{theirs}/decisions",
        headers=viewer,
        json={"items": [before["item_id"]], "decision": "revoke", "reason": "gone"},
    )
    assert forbidden.status_code == 403
    assert "another reviewer" in forbidden.json()["detail"]
    after = await _items(client, theirs, admin)
    assert after[0] == before
    decided = await client.post(
        f"/api/v1/reviews/{mine}/decisions",
        headers=viewer,
        json={"items": [own[0]["item_id"]], "decision": "revoke", "reason": "left"},
    )
    assert decided.json() == {"decided": 1, "already_decided": 0}
    item = (await _items(client, mine, viewer))[0]
    assert (
        item["decision"],
        item["reason"],
        item["decided_by"],
        item["remediation"],
    ) == (
        "revoke",
        "left",
        server.viewer,
        "pending",
    )


async def test_bad_input_and_signoff(
    server: Server, client: httpx.AsyncClient, campaigns: dict[str, Any]
) -> None:
    admin = server.auth(server.admin_token)
    theirs = campaigns["theirs"].id
    url = f"/api/v1/reviews/{theirs}"
    bad = await client.post(
        f"{url}/decisions",
        headers=admin,
        json={"filter": "role=root", "decision": "keep"},
    )
    assert bad.status_code == 422
    assert "role is one of owner, admin, user" in bad.json()["detail"]
    unknown = await client.post(
        f"{url}/decisions",
        headers=admin,
        json={"filter": "integration=nosuch", "decision": "keep"},
    )
    assert unknown.status_code == 422
    assert unknown.json()["detail"] == "filter: no integration 'nosuch'"
    subusers = len(server.world.accounts[0].subusers)
    first = await client.post(
        f"{url}/decisions",
        headers=admin,
        json={"filter": "kind=subuser", "decision": "keep"},
    )
    assert first.json() == {"decided": subusers, "already_decided": 0}
    left = await client.post(
        f"{url}/decisions",
        headers=admin,
        json={"filter": "kind=subuser", "decision": "revoke", "reason": "x"},
    )
    assert left.json() == {"decided": 0, "already_decided": subusers}
    replaced = await client.post(
        f"{url}/decisions",
        headers=admin,
        json={"filter": "kind=subuser", "decision": "keep", "override": True},
    )
    assert replaced.json() == {"decided": subusers, "already_decided": subusers}
    reasonless = await client.post(
        f"{url}/decisions",
        headers=admin,
        json={"filter": "role=admin", "decision": "revoke"},
    )
    assert reasonless.status_code == 422
    early = await client.post(f"{url}/signoff", headers=admin)
    assert early.status_code == 409
    assert f"{_accounts(server) - subusers} undecided items" in early.json()["detail"]
    viewer = await client.post(
        f"{url}/signoff", headers=server.auth(server.viewer_token)
    )
    assert viewer.status_code == 403
    everything = await client.post(
        f"{url}/decisions",
        headers=admin,
        json={"filter": "decision=none", "decision": "keep"},
    )
    # The subusers were decided above and stay as they are.
    assert everything.json() == {
        "decided": _accounts(server) - subusers,
        "already_decided": 0,
    }
    closed = await client.post(f"{url}/signoff", headers=admin)
    assert closed.status_code == 200, closed.text
    assert (closed.json()["status"], closed.json()["decided"]) == (
        "closed",
        _accounts(server),
    )
    late = await client.post(
        f"{url}/decisions",
        headers=admin,
        json={"filter": "kind=teammate", "decision": "keep"},
    )
    assert late.status_code == 409
    missing = await client.get("/api/v1/reviews/2147483646", headers=admin)
    assert missing.status_code == 404
