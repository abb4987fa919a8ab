"""`/api/v1/findings`, `/finding-thresholds` and an integration's posture:
paged and filtered reads for everyone signed in, decisions for admins only
(403 for viewers, 401 without a token), refusals as problem details."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import Engine
from tests.support.app import Server, asgi_client
from tests.support.finding_rows import EXPECTED, SeededFindings, seed_findings_world

from smp.storage.findings import evaluate_findings

# The API's words and shapes; storage runs on both databases in other modules.
pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture
async def client(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(server) as opened:
        yield opened


@pytest.fixture(scope="module")
def seeded(server: Server, engine: Engine) -> SeededFindings:
    del server  # made first: the database is the server's
    world = seed_findings_world(engine, NOW)
    evaluate_findings(engine, now=NOW, integration_ids=[world.integration_id])
    return world


async def test_list_paged_and_filtered(
    server: Server, client: httpx.AsyncClient, seeded: SeededFindings
) -> None:
    viewer = server.auth(server.viewer_token)
    mine = {"integration": seeded.integration_id}
    page = await client.get(
        "/api/v1/findings", headers=viewer, params={**mine, "limit": 3, "offset": 1}
    )
    assert page.status_code == 200, page.text
    body = page.json()
    assert (body["total"], body["limit"], body["offset"]) == (len(EXPECTED), 3, 1)
    assert [f["severity"] for f in body["items"]] == ["high"] * 3
    low = await client.get(
        "/api/v1/findings", headers=viewer, params={**mine, "severity": "low"}
    )
    assert sorted(f["subject"] for f in low.json()["items"]) == [
        "edge@acme.test",
        "idle",
        "old@acme.test",
    ]
    invite = await client.get(
        "/api/v1/findings", headers=viewer, params={**mine, "rule": "external_invite"}
    )
    [only] = invite.json()["items"]
    assert only["evidence"]["email"] == "inv@evil.test"
    assert only["first_seen"] == NOW.isoformat().replace("+00:00", "Z")
    for bad in ({"severity": "urgent"}, {"status": "done"}, {"limit": 501}):
        refused = await client.get("/api/v1/findings", headers=viewer, params=bad)
        assert refused.status_code == 422, bad
    missing = await client.get(
        "/api/v1/findings", headers=viewer, params={"integration": 2**31 - 1}
    )
    assert missing.status_code == 404
    anonymous = await client.get("/api/v1/findings")
    assert anonymous.status_code == 401


async def test_decisions_are_for_admins(
    server: Server, client: httpx.AsyncClient, seeded: SeededFindings
) -> None:
    admin, viewer = server.auth(server.admin_token), server.auth(server.viewer_token)
    listed = await client.get(
        "/api/v1/findings",
        headers=viewer,
        params={"integration": seeded.integration_id, "rule": "leaver_with_access"},
    )
    bob = next(f for f in listed.json()["items"] if f["subject"] == "bob@acme.test")
    path = f"/api/v1/findings/{bob['id']}"
    body = {"reason": "Hands over on Friday"}
    assert (
        await client.post(f"{path}/accept", json=body, headers=viewer)
    ).status_code == 403
    assert (await client.post(f"{path}/accept", json=body)).status_code == 401
    accepted = await client.post(f"{path}/accept", json=body, headers=admin)
    assert accepted.status_code == 200, accepted.text
    detail = accepted.json()
    assert detail["status"] == "accepted"
    assert [(e["kind"], e["actor"], e["reason"]) for e in detail["events"]] == [
        ("opened", None, None),
        ("accepted", server.admin, "Hands over on Friday"),
    ]
    assert detail["fix"][0] == "In SendGrid, open Settings → Teammates."
    today = NOW.date().isoformat()
    past = await client.post(
        f"{path}/snooze", json={"reason": "later", "until": today}, headers=admin
    )
    assert past.status_code == 422
    assert past.json()["detail"] == f"the snooze date {today} is not in the future"
    blank = await client.post(f"{path}/accept", json={"reason": ""}, headers=admin)
    assert blank.status_code == 422
    extra = await client.post(
        f"{path}/accept", json={"reason": "x", "status": "resolved"}, headers=admin
    )
    assert extra.status_code == 422
    gone = await client.post(
        "/api/v1/findings/2147483647/accept", json=body, headers=admin
    )
    assert gone.status_code == 404
    shown = await client.get(path, headers=viewer)
    assert shown.json()["status"] == "accepted"


async def test_thresholds_and_posture(
    server: Server, client: httpx.AsyncClient, seeded: SeededFindings
) -> None:
    admin, viewer = server.auth(server.admin_token), server.auth(server.viewer_token)
    path = "/api/v1/finding-thresholds/too_many_admins/share_percent"
    body = {"value": 20, "integration_id": seeded.integration_id}
    assert (await client.put(path, json=body, headers=viewer)).status_code == 403
    done = await client.put(path, json=body, headers=admin)
    assert done.status_code == 200, done.text
    [row] = [t for t in done.json() if t["rule"] == "too_many_admins"]
    assert (row["default"], row["global_value"], row["overrides"]) == (
        30,
        None,
        {seeded.name: 20},
    )
    out_of_range = await client.put(path, json={"value": 101}, headers=admin)
    assert out_of_range.status_code == 422
    assert out_of_range.json()["detail"] == (
        "too_many_admins.share_percent must be from 0 to 100 percent, not 101"
    )
    # Not a whole number, or one too long for any range: refused, never a 500.
    for raw in ('{"value": "--5"}', '{"value": "²"}', '{"value": 1.5}'):
        odd = await client.put(
            path, content=raw, headers={**admin, "Content-Type": "application/json"}
        )
        assert odd.status_code == 422, raw
    huge = await client.put(
        path,
        content='{"value": ' + "9" * 5000 + "}",
        headers={**admin, "Content-Type": "application/json"},
    )
    assert huge.status_code in (400, 422), huge.text
    cleared = await client.put(
        path,
        json={"value": None, "integration_id": seeded.integration_id},
        headers=admin,
    )
    [row] = [t for t in cleared.json() if t["rule"] == "too_many_admins"]
    assert row["overrides"] == {}
    trend = await client.get(
        f"/api/v1/integrations/{seeded.integration_id}/posture", headers=viewer
    )
    assert trend.status_code == 200, trend.text
    [score] = trend.json()
    # 5 high, 2 medium, 3 low open (tests/support/finding_rows.py): floored at 0.
    assert (score["score"], score["high"], score["medium"], score["low"]) == (
        0,
        5,
        2,
        3,
    )
