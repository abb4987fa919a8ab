"""The API's collected data equals the simulator world's ground truth."""

from __future__ import annotations

import time
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import text
from tests.support.app import Server, invoice_total, roles_in_world, utilization


async def _get(client: httpx.AsyncClient, srv: Server, path: str) -> dict:  # type: ignore[type-arg]
    answer = await client.get(path, headers=srv.auth(srv.viewer_token))
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def test_members_per_role_and_paging(
    server: Server, client: httpx.AsyncClient, synced: int
) -> None:
    truth = roles_in_world(server.world)
    for role, count in truth.items():
        page = await _get(
            client,
            server,
            f"/api/v1/members?integration={synced}&status=active&role={role}",
        )
        assert page["total"] == count
    first_sync = server.setup.context.now().isoformat().replace("+00:00", "Z")
    seen: list[str] = []
    offset = 0
    while True:
        page = await _get(
            client,
            server,
            f"/api/v1/members?integration={synced}&status=active&limit=7&offset={offset}",
        )
        seen += [m["username"] for m in page["items"]]
        # No "last seen": SendGrid has no login data. SMP's own first sight only.
        assert all("last_seen" not in m for m in page["items"])
        assert {m["first_seen"] for m in page["items"]} == {first_sync}
        offset += 7
        if offset >= page["total"]:
            break
    assert sorted(seen) == sorted(
        t["username"] for t in server.world.accounts[0].teammates
    )
    assert len(seen) == len(set(seen))


async def test_search_and_sort(
    server: Server, client: httpx.AsyncClient, synced: int
) -> None:
    teammate = server.world.accounts[0].teammates[5]
    page = await _get(
        client,
        server,
        f"/api/v1/members?integration={synced}&q={teammate['username'].upper()}",
    )
    assert teammate["username"] in [m["username"] for m in page["items"]]
    page = await _get(
        client, server, f"/api/v1/members?integration={synced}&sort=-email&limit=500"
    )
    emails = [m["email"] for m in page["items"]]
    assert emails == sorted(emails, reverse=True)


@pytest.mark.parametrize(
    "text",
    [
        "' OR 1=1 --",
        "%",
        "_",
        "\\",
        "'; DROP TABLE members; --",
        "😀",
        "Zoë",
        "<script>",
        "O'B",
        "ØYV",
        "山田",
        "yı",
    ],
)
async def test_odd_search_text_is_harmless(
    server: Server, client: httpx.AsyncClient, synced: int, text: str
) -> None:
    answer = await client.get(
        "/api/v1/members",
        params={"integration": synced, "q": text, "status": "active", "limit": 500},
        headers=server.auth(server.viewer_token),
    )
    assert answer.status_code == 200
    needle = text.casefold()
    truth = {
        t["username"]
        for t in server.world.accounts[0].teammates
        if any(
            needle in (t[f] or "").casefold()
            for f in ("email", "username", "first_name", "last_name")
        )
    }
    # Wildcards and quotes are plain characters: exactly the substring matches.
    page = answer.json()
    assert (page["total"], page["total_exact"]) == (len(truth), True)
    assert {m["username"] for m in page["items"]} == truth


@pytest.mark.parametrize("text", ["x" * 101, "a\u0000b", "tab\there"])
async def test_bad_search_text_is_refused(
    server: Server, client: httpx.AsyncClient, synced: int, text: str
) -> None:
    answer = await client.get(
        "/api/v1/members",
        params={"integration": synced, "q": text},
        headers=server.auth(server.viewer_token),
    )
    assert answer.status_code == 422


async def test_invites_invoices_usage_subusers(
    server: Server, client: httpx.AsyncClient, synced: int
) -> None:
    account = server.world.accounts[0]
    invites = await _get(client, server, f"/api/v1/invites?integration={synced}")
    assert {m["email"] for m in invites["items"]} == {
        p["email"] for p in account.pending
    }
    expiries = [m["invite_expires_at"] for m in invites["items"]]
    assert expiries == sorted(expiries)
    now = server.setup.context.now().timestamp()
    expired = {p["email"] for p in account.pending if p["expiration_date"] <= now}
    assert expired, "the world should hold an expired invite"
    assert {m["email"] for m in invites["items"] if m["invite_expired"]} == expired
    counts = await _get(client, server, f"/api/v1/member-counts?integration={synced}")
    assert counts == {
        "active": len(account.teammates),
        "roles": {"owner": 0, "admin": 0, "user": 0, **roles_in_world(server.world)},
        "pending_invites": len(account.pending) - len(expired),
        "expired_invites": len(expired),
        "removed": 0,
    }
    invoices = await _get(
        client, server, f"/api/v1/invoices?integration={synced}&limit=500"
    )
    assert sum(Decimal(i["amount"]) for i in invoices["items"]) == invoice_total(
        server.world
    )
    usage = await _get(client, server, f"/api/v1/usage?integration={synced}")
    assert usage["used"] == account.credits["used"]
    assert usage["utilization"] == pytest.approx(utilization(server.world))
    subusers = await _get(client, server, f"/api/v1/subusers?integration={synced}")
    assert {s["username"]: s["credits_used"] for s in subusers["items"]} == {
        s.username: s.credits["used"] for s in account.subusers
    }
    volumes = await _get(
        client, server, f"/api/v1/volumes?integration={synced}&limit=500"
    )
    stored = sum(v["metrics"]["requests"] for v in volumes["items"])
    assert stored == sum(d["metrics"]["requests"] for d in account.daily_stats)


async def test_history_runs_and_exports(
    server: Server, client: httpx.AsyncClient, synced: int
) -> None:
    account = server.world.accounts[0]
    # The first sync: one baseline with what it found, no join per member.
    joined = await _get(
        client,
        server,
        f"/api/v1/member-events?integration={synced}&kind=joined&limit=500",
    )
    assert joined["total"] == 0
    events = await _get(client, server, f"/api/v1/member-events?integration={synced}")
    (baseline,) = events["items"]
    assert baseline["kind"] == "baseline"
    assert baseline["member_key"] is None
    assert (baseline["members_found"], baseline["invites_found"]) == (
        len(account.teammates),
        len(account.pending),
    )
    runs = await _get(client, server, f"/api/v1/sync-runs?integration={synced}")
    assert runs["items"][0]["outcome"] == "ok"
    run = await _get(client, server, f"/api/v1/sync-runs/{runs['items'][0]['id']}")
    assert run["capabilities"]["members"]["count"] == len(account.teammates)
    csv_answer = await client.get(
        f"/api/v1/exports/members?integration={synced}",
        headers=server.auth(server.viewer_token),
    )
    assert csv_answer.headers["content-type"].startswith("text/csv")
    lines = csv_answer.text.strip().splitlines()
    assert len(lines) == 1 + len(account.teammates) + len(account.pending)
    as_json = await _get(
        client, server, f"/api/v1/exports/invoices?integration={synced}&format=json"
    )
    assert {row["invoice_id"] for row in as_json} == {
        str(i["id"]) for i in account.invoices
    }


async def test_start_a_sync(
    server: Server, client: httpx.AsyncClient, synced: int
) -> None:
    before = await _get(client, server, f"/api/v1/sync-runs?integration={synced}")
    answer = await client.post(
        "/api/v1/sync-runs",
        json={"integration_id": synced},
        headers=server.auth(server.admin_token),
    )
    assert answer.status_code == 202
    assert answer.json()["started"] is True
    await server.app.state.smp.syncs.wait(synced)
    after = await _get(client, server, f"/api/v1/sync-runs?integration={synced}")
    assert after["total"] == before["total"] + 1
    assert after["items"][0]["trigger"] == "api"


async def test_reads_answer_while_a_sync_holds_the_write_lock(
    server: Server, client: httpx.AsyncClient, synced: int
) -> None:
    """A writer's open transaction (on SQLite: the database's only write lock)
    does not hold up reads: they would otherwise wait up to the 15 s busy
    timeout, then fail."""
    writer = server.setup.engine.connect()
    try:
        writer.execute(
            text("UPDATE members SET last_seen = last_seen WHERE integration_id = :i"),
            {"i": synced},
        )
        started = time.monotonic()
        page = await _get(
            client, server, f"/api/v1/members?integration={synced}&status=active"
        )
        listed = await _get(client, server, "/api/v1/integrations")
        assert time.monotonic() - started < 5
        assert page["total"] == sum(roles_in_world(server.world).values())
        assert synced in {i["id"] for i in listed["items"]}
    finally:
        writer.rollback()
        writer.close()
