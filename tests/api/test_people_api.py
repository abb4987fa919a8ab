"""`/api/v1/people`, `/accounts`, `/company-domains`, `/account-links`.

Reads are checked against rows written straight into the tables
(tests/support/people_rows.py). The changes come last in this module: each
one reclassifies every account, and the seeded rows have no SendGrid members
behind them, so a reclassification marks them removed.
"""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from sqlalchemy import Engine
from tests.support.app import Server
from tests.support.people_rows import (
    ACCOUNT_KEYS,
    Seeded,
    add_people,
    person_row,
    seed_directory,
    seed_members,
)

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def seeded(server: Server, engine: Engine) -> Seeded:
    del server  # made first: the database is the server's
    return seed_directory(engine, NOW)


async def test_people_are_paged_filtered_and_searched(
    server: Server, client: httpx.AsyncClient, seeded: Seeded
) -> None:
    viewer = server.auth(server.viewer_token)
    page = await client.get(
        "/api/v1/people", headers=viewer, params={"limit": 2, "offset": 1}
    )
    assert page.status_code == 200, page.text
    body = page.json()
    assert (body["total"], body["limit"], body["offset"]) == (5, 2, 1)
    assert [p["email"] for p in body["items"]] == ["bob@acme.test", "gus@acme.test"]
    assert body["items"][0]["id"] == seeded.people["bob"]
    found = await client.get(
        "/api/v1/people", headers=viewer, params={"q": "engineering"}
    )
    assert [p["email"] for p in found.json()["items"]] == ["Ada.Lovelace@acme.test"]
    on_leave = await client.get(
        "/api/v1/people", headers=viewer, params={"status": "leave"}
    )
    assert [p["email"] for p in on_leave.json()["items"]] == ["lea@partner.test"]
    for bad in ({"status": "fired"}, {"limit": 501}, {"q": "a\x00b"}):
        refused = await client.get("/api/v1/people", headers=viewer, params=bad)
        assert refused.status_code == 422, bad


async def test_a_person_with_their_accounts(
    server: Server, client: httpx.AsyncClient, seeded: Seeded
) -> None:
    viewer = server.auth(server.viewer_token)
    gus = seeded.people["gus"]
    answer = await client.get(f"/api/v1/people/{gus}", headers=viewer)
    assert answer.status_code == 200, answer.text
    person = answer.json()
    assert (person["email"], person["status"], person["source"]) == (
        "gus@acme.test",
        "gone",
        "old",
    )
    lags = sorted(a["offboarding_lag_s"] for a in person["accounts"])
    assert lags == [3_600, 10_000, 86_400]
    missing = await client.get("/api/v1/people/2147483647", headers=viewer)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


async def test_accounts_by_classification(
    server: Server, client: httpx.AsyncClient, seeded: Seeded
) -> None:
    viewer = server.auth(server.viewer_token)
    answer = await client.get(
        "/api/v1/accounts", headers=viewer, params={"classification": "leaver"}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["total"] == 2
    assert sorted((a["integration"], a["kind"]) for a in body["items"]) == [
        (seeded.integration, "teammate"),
        (seeded.other_integration, "invite"),
    ]
    assert list(body["items"][0]) == ACCOUNT_KEYS
    externals = await client.get(
        "/api/v1/accounts",
        headers=viewer,
        params={"classification": "external", "limit": 1},
    )
    (external,) = externals.json()["items"]
    assert (external["email"], external["person_id"]) == ("ext@gmail.test", None)
    bad = await client.get(
        "/api/v1/accounts", headers=viewer, params={"classification": "former"}
    )
    assert bad.status_code == 422
    unknown = await client.get(
        "/api/v1/accounts", headers=viewer, params={"integration": 2147483647}
    )
    assert unknown.status_code == 404


async def test_reading_needs_a_token(client: httpx.AsyncClient) -> None:
    for path in ("/api/v1/people", "/api/v1/people/1", "/api/v1/accounts"):
        answer = await client.get(path)
        assert answer.status_code == 401, path
    wrong = await client.get(
        "/api/v1/people", headers={"Authorization": "Bearer smp_not_a_token"}
    )
    assert wrong.status_code == 401


# --- changes (last: they reclassify every account) --------------------------------


async def test_viewers_cannot_change_domains_or_links(
    server: Server, client: httpx.AsyncClient, seeded: Seeded
) -> None:
    viewer = server.auth(server.viewer_token)
    person = seeded.people["ada"]
    writes = [
        client.post(
            "/api/v1/company-domains", headers=viewer, json={"domain": "acme.test"}
        ),
        client.delete("/api/v1/company-domains/acme.test", headers=viewer),
        client.post(
            "/api/v1/account-links",
            headers=viewer,
            json={"email": "x@gmail.test", "person_id": person},
        ),
        client.delete("/api/v1/account-links/x@gmail.test", headers=viewer),
    ]
    for write in writes:
        answer = await write
        assert answer.status_code == 403, answer.request.url
    anonymous = await client.post(
        "/api/v1/company-domains", json={"domain": "acme.test"}
    )
    assert anonymous.status_code == 401
    listed = await client.get("/api/v1/company-domains", headers=viewer)
    assert listed.json()["items"] == []


async def test_an_admin_adds_and_removes_a_company_domain(
    server: Server, client: httpx.AsyncClient, engine: Engine
) -> None:
    admin = server.auth(server.admin_token)
    name = seed_members(engine, NOW, ["who@corp-api.test"])
    added = await client.post(
        "/api/v1/company-domains", headers=admin, json={"domain": "CORP-API.test"}
    )
    assert added.status_code == 200, added.text
    assert added.json() == {"domain": "corp-api.test", "changed": True}
    again = await client.post(
        "/api/v1/company-domains", headers=admin, json={"domain": "corp-api.test"}
    )
    assert again.json()["changed"] is False
    accounts = await client.get(
        "/api/v1/accounts", headers=admin, params={"classification": "unknown_internal"}
    )
    assert [(a["integration"], a["email"]) for a in accounts.json()["items"]] == [
        (name, "who@corp-api.test")
    ]
    listed = await client.get("/api/v1/company-domains", headers=admin)
    assert [d["domain"] for d in listed.json()["items"]] == ["corp-api.test"]
    bad = await client.post(
        "/api/v1/company-domains", headers=admin, json={"domain": "corp api"}
    )
    assert bad.status_code == 422
    assert "not a domain" in bad.json()["detail"]
    removed = await client.delete(
        "/api/v1/company-domains/corp-api.test", headers=admin
    )
    assert removed.status_code == 204
    gone = await client.delete("/api/v1/company-domains/corp-api.test", headers=admin)
    assert gone.status_code == 404


async def test_an_admin_links_and_unlinks_an_account(
    server: Server, client: httpx.AsyncClient, engine: Engine
) -> None:
    admin = server.auth(server.admin_token)
    (person,) = add_people(engine, person_row("ann@corp-link.test", now=NOW))
    name = seed_members(engine, NOW, ["ann.private@gmail.test"])
    linked = await client.post(
        "/api/v1/account-links",
        headers=admin,
        json={"email": "Ann.Private@gmail.test", "person_id": person},
    )
    assert linked.status_code == 200, linked.text
    assert linked.json() == {
        "email": "Ann.Private@gmail.test",
        "person_id": person,
        "accounts": 1,
        "previous": None,
    }
    detail = await client.get(f"/api/v1/people/{person}", headers=admin)
    (account,) = detail.json()["accounts"]
    assert (account["integration"], account["matched_by"]) == (name, "manual")
    assert account["classification"] == "employee"
    nobody = await client.post(
        "/api/v1/account-links",
        headers=admin,
        json={"email": "a@b.test", "person_id": 2147483647},
    )
    assert nobody.status_code == 404
    unlinked = await client.delete(
        "/api/v1/account-links/ANN.PRIVATE@gmail.test", headers=admin
    )
    assert unlinked.status_code == 204
    after = await client.get(f"/api/v1/people/{person}", headers=admin)
    assert after.json()["accounts"] == []
    again = await client.delete(
        "/api/v1/account-links/ann.private@gmail.test", headers=admin
    )
    assert again.status_code == 404
