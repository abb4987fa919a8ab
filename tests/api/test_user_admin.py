"""Admins change roles and reset passwords; everyone manages their own API tokens."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.support.app import PASSWORD, Server

from smp.services.users import authenticate
from smp.storage.tables import ApiTokenRow


async def test_admin_changes_roles_but_never_leaves_no_admin(
    server: Server, client: httpx.AsyncClient
) -> None:
    admin, viewer = server.auth(server.admin_token), server.auth(server.viewer_token)
    promoted = await client.patch(
        f"/api/v1/users/{server.viewer}", headers=admin, json={"role": "admin"}
    )
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["role"] == "admin"
    back = await client.patch(
        f"/api/v1/users/{server.viewer}", headers=admin, json={"role": "viewer"}
    )
    assert back.json()["role"] == "viewer"
    # The module's database has one admin: the server's.
    last = await client.patch(
        f"/api/v1/users/{server.admin}", headers=admin, json={"role": "viewer"}
    )
    assert last.status_code == 409
    assert "last admin" in last.json()["detail"]
    refused = await client.patch(
        f"/api/v1/users/{server.viewer}", headers=viewer, json={"role": "admin"}
    )
    assert refused.status_code == 403
    missing = await client.patch(
        "/api/v1/users/nobody-here", headers=admin, json={"role": "admin"}
    )
    assert missing.status_code == 404
    body = {"name": "me", "password": PASSWORD, "role": "viewer"}
    reserved = await client.post("/api/v1/users", headers=admin, json=body)
    assert reserved.status_code == 422
    assert "/users/me" in reserved.json()["detail"]
    odd = await client.patch(
        f"/api/v1/users/{server.viewer}", headers=admin, json={"role": "owner"}
    )
    assert odd.status_code == 422


async def test_a_name_is_answered_as_typed_and_found_however_cased(
    server: Server, client: httpx.AsyncClient
) -> None:
    admin = server.auth(server.admin_token)
    body = {"name": "Alice  Smith", "password": PASSWORD, "role": "viewer"}
    added = await client.post("/api/v1/users", headers=admin, json=body)
    assert added.status_code == 201, added.text
    assert added.json()["name"] == "Alice Smith"
    again = {**body, "name": "ALICE SMITH"}
    taken = await client.post("/api/v1/users", headers=admin, json=again)
    assert taken.status_code == 409
    found = await client.patch(
        "/api/v1/users/alice%20smith", headers=admin, json={"role": "viewer"}
    )
    assert found.status_code == 200, found.text
    assert found.json()["name"] == "Alice Smith"
    listed = await client.get("/api/v1/users", headers=admin)
    assert "Alice Smith" in [u["name"] for u in listed.json()["items"]]


async def test_password_reset_is_generated_shown_once_and_ends_tokens(
    server: Server, client: httpx.AsyncClient
) -> None:
    admin = server.auth(server.admin_token)
    body = {"name": "reset-me", "password": PASSWORD, "role": "viewer"}
    assert (await client.post("/api/v1/users", headers=admin, json=body)).is_success
    made = await client.post("/api/v1/users/reset-me/tokens", headers=admin)
    old_token = made.json()["token"]
    reset = await client.post("/api/v1/users/reset-me/password", headers=admin)
    assert reset.status_code == 200, reset.text
    new_password = reset.json()["password"]
    assert len(new_password) >= 16
    with Session(server.setup.engine) as session, session.begin():
        assert authenticate(session, "reset-me", new_password) is not None
        assert authenticate(session, "reset-me", PASSWORD) is None
    gone = await client.get("/api/v1/users/me", headers=server.auth(old_token))
    assert gone.status_code == 401
    listed = await client.get("/api/v1/users", headers=admin)
    assert new_password not in listed.text
    viewer = server.auth(server.viewer_token)
    refused = await client.post("/api/v1/users/reset-me/password", headers=viewer)
    assert refused.status_code == 403
    missing = await client.post("/api/v1/users/nobody-here/password", headers=admin)
    assert missing.status_code == 404


async def test_everyone_creates_and_revokes_only_their_own_tokens(
    server: Server, client: httpx.AsyncClient
) -> None:
    viewer = server.auth(server.viewer_token)
    made = await client.post(
        "/api/v1/users/me/tokens", headers=viewer, json={"label": "reporting"}
    )
    assert made.status_code == 201, made.text
    raw, token_id = made.json()["token"], made.json()["id"]
    me = await client.get("/api/v1/users/me", headers=server.auth(raw))
    assert me.json()["name"] == server.viewer
    listed = await client.get("/api/v1/users/me/tokens", headers=viewer)
    mine = [t for t in listed.json() if t["id"] == token_id]
    assert [t["label"] for t in mine] == ["reporting"]
    assert set(mine[0]) == {"id", "label", "created_at", "last_used_at"}
    assert raw not in listed.text
    with Session(server.setup.engine) as session:
        stored = set(session.scalars(select(ApiTokenRow.token_hash)))
    assert raw not in stored
    assert not any(raw[4:20] in digest for digest in stored)
    # Another user's token is not found, whoever asks.
    admin = server.auth(server.admin_token)
    theirs = await client.delete(f"/api/v1/users/me/tokens/{token_id}", headers=admin)
    assert theirs.status_code == 404
    revoked = await client.delete(f"/api/v1/users/me/tokens/{token_id}", headers=viewer)
    assert revoked.status_code == 204
    after = await client.get("/api/v1/users/me", headers=server.auth(raw))
    assert after.status_code == 401
    again = await client.delete(f"/api/v1/users/me/tokens/{token_id}", headers=viewer)
    assert again.status_code == 404


async def test_each_user_sets_an_iana_time_zone(
    server: Server, client: httpx.AsyncClient
) -> None:
    viewer = server.auth(server.viewer_token)
    me = await client.get("/api/v1/users/me", headers=viewer)
    assert me.json()["time_zone"] == "UTC"
    changed = await client.patch(
        "/api/v1/users/me", headers=viewer, json={"time_zone": "America/New_York"}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["time_zone"] == "America/New_York"
    bad = await client.patch(
        "/api/v1/users/me", headers=viewer, json={"time_zone": "Mars/Olympus_Mons"}
    )
    assert bad.status_code == 422
    assert "IANA" in bad.json()["detail"]
    assert "\n" not in bad.json()["detail"]
    again = await client.get("/api/v1/users/me", headers=viewer)
    assert again.json()["time_zone"] == "America/New_York"
