"""The web UI over HTTP: sign-in, CSRF, the Integrate form, roles, ground truth."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tests.support.app import (
    Server,
    invoice_total,
    make_server,
    roles_in_world,
    small_world,
    utilization,
)
from tests.support.web import csrf_of, sign_in, web_client

from smp.storage import list_integrations


def _integration_count(srv: Server) -> int:
    with Session(srv.setup.engine) as session:
        return len(list_integrations(session))


async def test_pages_need_a_session(server: Server) -> None:
    async with web_client(server) as client:
        for path in (
            "/",
            "/integrations",
            "/integrations/1",
            "/integrations/1/settings",
            "/users",
            "/docs",
            "/integrations/sendgrid/new",
        ):
            answer = await client.get(path)
            assert answer.status_code == 303
            assert answer.headers["location"] in ("/login", "/integrations")
        assert (await client.get("/openapi.json")).status_code == 401


async def test_sign_in_and_out(server: Server) -> None:
    async with web_client(server) as client:
        wrong = await sign_in(client, server.admin, "not the password")
        assert wrong.status_code == 401
        assert "Wrong user name or password" in wrong.text
        good = await sign_in(client, server.admin)
        assert good.status_code == 303
        cookie = good.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
        page = await client.get("/integrations")
        assert page.status_code == 200
        assert "Integrate" in page.text
        assert (await client.get("/openapi.json")).status_code == 200
        out = await client.post("/logout", data={"csrf_token": csrf_of(page.text)})
        assert out.status_code == 303
        assert (await client.get("/integrations")).status_code == 303


async def test_failed_logins_are_throttled(server: Server) -> None:
    # A client address of its own, so other tests' sign-ins stay unthrottled.
    async with web_client(server, "127.0.0.99") as client:
        for _ in range(5):
            assert (await sign_in(client, "victim-user", "guess")).status_code == 401
        blocked = await sign_in(client, "victim-user", "guess")
        assert blocked.status_code == 429
        assert blocked.headers["Retry-After"] == "2"
        # Only that name waits at that address (tests/web/test_logins.py has more).
        assert (await sign_in(client, server.viewer)).status_code == 303


async def test_forms_without_csrf_are_refused(server: Server, synced: int) -> None:
    async with web_client(server) as client:
        await sign_in(client, server.admin)
        before = _integration_count(server)
        for path, data in (
            (
                "/integrations/sendgrid",
                {"name": "No CSRF", "access_token": server.key("full")},
            ),
            (f"/integrations/{synced}/sync", {}),
            ("/logout", {}),
            ("/login", {"username": server.admin, "password": "x"}),
            (
                "/integrations/sendgrid",
                {
                    "name": "Bad CSRF",
                    "csrf_token": "forged",
                    "access_token": server.key("full"),
                },
            ),
        ):
            answer = await client.post(path, data=data)
            assert answer.status_code == 403, path
        assert _integration_count(server) == before


async def test_invalid_key_gives_an_inline_error_and_stores_nothing(
    server: Server,
) -> None:
    async with web_client(server) as client:
        await sign_in(client, server.admin)
        form = await client.get("/integrations/sendgrid/new")
        before = _integration_count(server)
        for access, billing, field in (
            ("not-a-key", "", "access-error"),
            (server.key("revoked"), "", "access-error"),
            (server.key("full"), "SG.bogus", "billing-error"),
            ("", "", "access-error"),
            ("x" * 5000, "", "access-error"),
            ("SG.\u0000abc", "", "access-error"),
        ):
            answer = await client.post(
                "/integrations/sendgrid",
                data={
                    "name": "Bad",
                    "access_token": access,
                    "billing_token": billing,
                    "csrf_token": csrf_of(form.text),
                },
            )
            assert answer.status_code == 422, (access, answer.text)
            assert f'id="{field}"' in answer.text
            assert server.key("full") not in answer.text
            assert server.key("revoked") not in answer.text
        assert _integration_count(server) == before


async def test_integrate_shows_what_each_key_collects(engine: Engine) -> None:
    # A world of its own: this module's world already has its account connected.
    server = make_server(engine, small_world(seed=12))
    async with web_client(server) as client:
        await sign_in(client, server.admin)
        form = await client.get("/integrations/sendgrid/new")
        done = await client.post(
            "/integrations/sendgrid",
            data={
                "name": "Web integrate",
                "access_token": server.key("full"),
                "billing_token": server.key("billing"),
                "billing_account_confirmed": "yes",
                "csrf_token": csrf_of(form.text),
            },
        )
        assert done.status_code == 200, done.text
        assert "Connected: Web integrate" in done.text
        assert "billing.read" in done.text  # what the full key lacks, with its fix
        for kind in ("full", "billing"):
            assert server.key(kind) not in done.text
            assert server.key(kind).split(".")[2] not in done.text
        iid = int(re.search(r'href="/integrations/(\d+)"', done.text).group(1))  # type: ignore[union-attr]
        await server.app.state.smp.syncs.wait(iid)
        board = await client.get(f"/integrations/{iid}")
    assert board.status_code == 200
    for role, count in roles_in_world(server.world).items():
        assert f'data-testid="role-count-{role}" data-count="{count}"' in board.text
    assert f"{invoice_total(server.world):,.2f} USD" in board.text
    assert f"{utilization(server.world) * 100:.1f} %" in board.text


async def test_viewer_sees_no_write_controls_and_is_refused(
    server: Server, synced: int
) -> None:
    async with web_client(server) as client:
        await sign_in(client, server.viewer)
        settings = await client.get(f"/integrations/{synced}/settings")
        assert settings.status_code == 200
        assert "Add service account" not in settings.text
        assert "Remove" not in settings.text
        listing = await client.get("/integrations")
        assert 'href="/integrations/sendgrid/new"' not in listing.text
        token = csrf_of(settings.text)
        for path, data in (
            (
                f"/integrations/{synced}/service-accounts",
                {"label": "x", "key": server.key("billing")},
            ),
            (f"/integrations/{synced}/sync", {}),
            (f"/integrations/{synced}/service-accounts/1/remove", {}),
            (
                "/integrations/sendgrid",
                {"name": "v", "access_token": server.key("full")},
            ),
            ("/users", {"name": "eve", "password": "long enough", "role": "admin"}),
        ):
            answer = await client.post(path, data={**data, "csrf_token": token})
            assert answer.status_code == 403, path
        assert (await client.get("/users")).status_code == 403


async def test_dashboard_members_say_what_smp_knows(
    server: Server, synced: int
) -> None:
    account = server.world.accounts[0]
    now = server.setup.context.now().timestamp()
    expired = sum(p["expiration_date"] <= now for p in account.pending)
    assert expired, "the world should hold an expired invite"
    async with web_client(server) as client:
        await sign_in(client, server.viewer)
        board = await client.get(f"/integrations/{synced}?sort=-first_seen")
    assert board.status_code == 200
    text = board.text
    assert "First seen by SMP" in text
    assert "Last seen" not in text
    assert 'aria-sort="descending"' in text  # the first-seen column sorts
    pending = re.search(r'data-testid="pending-invites">([\d,]+)<', text)
    assert pending is not None
    assert int(pending.group(1)) == len(account.pending) - expired
    assert f'data-testid="expired-invites" data-count="{expired}"' in text
    # The first sync's history: one baseline line, no join per member.
    found = f"{len(account.teammates)} members and {len(account.pending)} invites found"
    assert found in text
    assert "<td>joined</td>" not in text


@pytest.mark.parametrize(
    "query",
    [
        "q=%27%20OR%201%3D1--",
        "q=" + "x" * 3000,
        "role=god",
        "status=%00",
        "sort=password",
        "page=-1",
        "page=99999999999999999999",
        "q=%F0%9F%98%80",
        "q=<script>alert(1)</script>",
    ],
)
async def test_odd_dashboard_queries_are_harmless(
    server: Server, synced: int, query: str
) -> None:
    async with web_client(server) as client:
        await sign_in(client, server.viewer)
        answer = await client.get(f"/integrations/{synced}?{query}")
    assert answer.status_code in (200, 400, 422)
    assert "<script>alert(1)</script>" not in answer.text


async def test_pages_hold_no_stored_key(server: Server, synced: int) -> None:
    secrets = [server.key("full"), server.key("billing")]
    async with web_client(server) as client:
        await sign_in(client, server.admin)
        for path in (
            "/integrations",
            f"/integrations/{synced}",
            f"/integrations/{synced}/settings",
            "/docs",
            "/users",
            f"/integrations/{synced}/export/members.csv",
        ):
            answer = await client.get(path)
            assert answer.status_code == 200, path
            for secret in secrets:
                assert secret.split(".")[2] not in answer.text, path
