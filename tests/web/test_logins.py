"""Sign-ins through the app: waits per user name and address, hash upgrades, purges.

The app's clock is a test clock that starts at the real now and only moves
when a test moves it, so a wait is measured, never slept. Each test signs in
from client addresses of its own (the ASGI client's `client` tuple).
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from tests.support.app import PASSWORD, make_users
from tests.support.web import csrf_of, sign_in

from smp.model.users import UserRole
from smp.runtime.server_config import ServerConfig
from smp.server import create_app
from smp.services.passwords import OWASP_SCRYPT, ScryptCost, hash_password
from smp.services.users import create_user
from smp.storage import SecretBox, generate_key
from smp.storage.logins import LoginThrottle
from smp.storage.tables import ApiTokenRow, UserRow, WebSessionRow
from smp.sync import SyncContext

THROTTLE = LoginThrottle()


class TestClock:
    """Now, as the app sees it: the real time at the start, then moved by hand."""

    __test__ = False

    def __init__(self) -> None:
        self.at = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, delta: dt.timedelta) -> None:
        self.at += delta


@dataclass
class Site:
    app: FastAPI
    engine: Engine
    clock: TestClock
    admin: str
    admin_token: str

    def client(self, address: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app, client=(address, 50000)),
            base_url="http://testserver",
        )


@pytest.fixture(scope="module")
def site(engine: Engine) -> Iterator[Site]:
    clock = TestClock()
    context = SyncContext(now=clock)
    box = SecretBox.from_key(generate_key())
    app = create_app(engine, box, context, scheduler=False, config=ServerConfig())
    admin, _viewer, admin_token, _ = make_users(engine)
    yield Site(app, engine, clock, admin, admin_token)
    context.writer.close()


def _retry_after(answer: httpx.Response) -> int:
    assert answer.status_code == 429, answer.text[:300]
    seconds = int(answer.headers["Retry-After"])
    said = {1: "1 second"}.get(seconds, f"{seconds} seconds")
    if seconds >= 120:
        said = f"{math.ceil(seconds / 60)} minutes"
    assert f"Too many failed sign-ins. Try again in {said}." in answer.text
    return seconds


def _new_user(engine: Engine, password: str = PASSWORD) -> str:
    name = f"user-{uuid.uuid4().hex[:8]}"
    with Session(engine) as session, session.begin():
        create_user(session, name, password, UserRole.VIEWER)
    return name


async def test_guesses_at_a_name_slow_only_that_address_and_the_wait_grows(
    site: Site,
) -> None:
    free = THROTTLE.free_failures
    async with (
        site.client("127.0.1.2") as stranger,
        site.client("127.0.1.3") as owner,
    ):
        for _ in range(free):
            assert (await sign_in(stranger, site.admin, "guess")).status_code == 401
        waits = []
        for _ in range(12):
            wait = _retry_after(await sign_in(stranger, site.admin, "guess"))
            waits.append(wait)
            # Still waiting a second before the end: refused, and not counted.
            site.clock.advance(dt.timedelta(seconds=wait - 1))
            assert _retry_after(await sign_in(stranger, site.admin, "guess")) == 1
            site.clock.advance(dt.timedelta(seconds=1))
            assert (await sign_in(stranger, site.admin, "guess")).status_code == 401
            # Meanwhile the name's owner, at another address, never waits.
            assert (await sign_in(owner, site.admin)).status_code == 303
            owner.cookies.clear()
        first = int(THROTTLE.first_delay.total_seconds())
        cap = int(THROTTLE.max_delay.total_seconds())
        assert waits == [min(cap, first * 2**n) for n in range(12)]
        assert waits[-1] == cap  # 2 s doubled up to 15 minutes, no further
        # Another name from the stranger's address is not slowed by these.
        other = _new_user(site.engine)
        assert (await sign_in(stranger, other)).status_code == 303


async def test_fifty_wrong_passwords_from_one_address_do_not_lock_admin_out(
    site: Site,
) -> None:
    async with (
        site.client("127.0.2.1") as stranger,
        site.client("127.0.2.2") as owner,
    ):
        answers = [
            (await sign_in(stranger, site.admin, f"guess {n}")).status_code
            for n in range(50)
        ]
        assert answers.count(401) == THROTTLE.free_failures
        assert answers.count(429) == 50 - THROTTLE.free_failures
        assert (await sign_in(owner, site.admin)).status_code == 303
        answer = await owner.get(
            "/api/v1/users/me", headers={"Authorization": f"Bearer {site.admin_token}"}
        )
        assert answer.status_code == 200
        assert answer.json()["name"] == site.admin
    # The right password from the stranger's address must wait too.
    async with site.client("127.0.2.1") as stranger:
        assert (await sign_in(stranger, site.admin)).status_code == 429


async def test_one_address_guessing_many_names_is_slowed(site: Site) -> None:
    names = [_new_user(site.engine) for _ in range(2)]
    async with (
        site.client("127.0.3.1") as sprayer,
        site.client("127.0.3.2") as elsewhere,
    ):
        for n in range(THROTTLE.address_free_failures):
            answer = await sign_in(sprayer, f"guessed-name-{n}", "Summer2024!")
            assert answer.status_code == 401
        assert _retry_after(await sign_in(sprayer, names[0])) == int(
            THROTTLE.first_delay.total_seconds()
        )
        assert (await sign_in(elsewhere, names[1])).status_code == 303


async def test_a_right_password_forgets_the_names_failures_at_that_address(
    site: Site,
) -> None:
    name = _new_user(site.engine)
    async with site.client("127.0.4.1") as client:
        for _ in range(THROTTLE.free_failures - 1):
            assert (await sign_in(client, name, "typo")).status_code == 401
        assert (await sign_in(client, name)).status_code == 303
        client.cookies.clear()
        for _ in range(THROTTLE.free_failures):
            assert (await sign_in(client, name, "typo")).status_code == 401
        _retry_after(await sign_in(client, name, "typo"))


async def test_an_ipv6_client_counts_as_its_64(site: Site) -> None:
    name = _new_user(site.engine)
    free = THROTTLE.free_failures
    for n in range(free):
        async with site.client(f"2001:db8:1:2::{n + 1:x}") as client:
            assert (await sign_in(client, name, "guess")).status_code == 401
    async with site.client("2001:db8:1:2::ffff") as same_network:
        _retry_after(await sign_in(same_network, name))
    async with site.client("2001:db8:1:3::1") as other_network:
        assert (await sign_in(other_network, name)).status_code == 303


async def test_signing_in_upgrades_an_old_hash_to_owasps_cost(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SMP_TEST_ONLY_FAST_PASSWORD_HASH")
    name = _new_user(site.engine)
    old = hash_password(PASSWORD, ScryptCost(2**14, 8, 1))
    with Session(site.engine) as session, session.begin():
        row = session.scalar(select(UserRow).where(UserRow.name == name))
        assert row is not None
        row.password_hash = old

    def stored() -> str:
        with Session(site.engine) as session:
            found = session.scalar(
                select(UserRow.password_hash).where(UserRow.name == name)
            )
        assert found is not None
        return found

    async with site.client("127.0.5.1") as client:
        assert (await sign_in(client, name, "not it")).status_code == 401
        assert stored() == old
        assert (await sign_in(client, name)).status_code == 303
    upgraded = stored()
    owasp = f"scrypt${OWASP_SCRYPT.n}${OWASP_SCRYPT.r}${OWASP_SCRYPT.p}$"
    assert upgraded.startswith(owasp), upgraded[:30]
    assert upgraded.startswith("scrypt$131072$8$1$")
    async with site.client("127.0.5.1") as client:
        assert (await sign_in(client, name)).status_code == 303
    assert stored() == upgraded


def _sessions_of(engine: Engine, name: str) -> int:
    with Session(engine) as session:
        found = session.scalar(
            select(func.count())
            .select_from(WebSessionRow)
            .join(UserRow, UserRow.id == WebSessionRow.user_id)
            .where(UserRow.name == name)
        )
    return int(found or 0)


async def test_expired_sessions_are_purged_at_sign_in(site: Site) -> None:
    name = _new_user(site.engine)
    ttl = ServerConfig().session_ttl
    async with site.client("127.0.6.1") as first, site.client("127.0.6.2") as second:
        assert (await sign_in(first, name)).status_code == 303
        assert (await first.get("/integrations")).status_code == 200
        site.clock.advance(ttl / 2)
        assert (await sign_in(second, name)).status_code == 303
        assert _sessions_of(site.engine, name) == 2
        site.clock.advance(ttl / 2)  # the first session's end
        assert (await first.get("/integrations")).status_code == 303
        async with site.client("127.0.6.3") as third:
            assert (await sign_in(third, name)).status_code == 303
        # The first is gone from the table; the second and third live.
        assert _sessions_of(site.engine, name) == 2
        assert (await second.get("/integrations")).status_code == 200


async def test_a_name_is_shown_as_typed_and_found_however_cased(site: Site) -> None:
    name = f"Alice Smith {uuid.uuid4().hex[:6]}"
    with Session(site.engine) as session, session.begin():
        create_user(session, name, PASSWORD, UserRole.VIEWER)
    async with site.client("127.0.7.1") as client:
        assert (await sign_in(client, f" {name.lower()} ")).status_code == 303
        account = await client.get("/account")
    assert f"<span>{name} <small" in account.text  # the signed-in line
    async with site.client("127.0.7.2") as admin:
        assert (await sign_in(admin, site.admin)).status_code == 303
        listed = await admin.get("/users")
        assert f"<td>{name}</td>" in listed.text
        taken = await admin.post(
            "/users",
            data={
                "name": name.upper(),
                "password": PASSWORD,
                "role": "viewer",
                "csrf_token": csrf_of(listed.text),
            },
        )
    assert taken.status_code == 422
    assert "already exists" in taken.text


def _last_used(engine: Engine, name: str) -> dt.datetime | None:
    with Session(engine) as session:
        rows = session.execute(
            select(ApiTokenRow.last_used_at)
            .join(UserRow, UserRow.id == ApiTokenRow.user_id)
            .where(UserRow.name == name)
        ).all()
    assert len(rows) == 1
    return rows[0][0]


async def test_a_tokens_last_use_is_written_at_most_once_a_minute(
    site: Site,
) -> None:
    admin, _, token, _ = make_users(site.engine)
    bearer = {"Authorization": f"Bearer {token}"}
    start = site.clock()
    assert _last_used(site.engine, admin) is None
    async with site.client("127.0.7.1") as client:
        for seconds, written in ((0, 0), (1, 0), (30, 0), (59, 0), (60, 60), (90, 60)):
            site.clock.at = start + dt.timedelta(seconds=seconds)
            answer = await client.get("/api/v1/users/me", headers=bearer)
            assert answer.status_code == 200
            expected = start + dt.timedelta(seconds=written)
            assert _last_used(site.engine, admin) == expected, seconds
        # A refused token writes nothing.
        bad = {"Authorization": f"Bearer {token[:-1]}x"}
        site.clock.advance(dt.timedelta(minutes=5))
        assert (await client.get("/api/v1/users/me", headers=bad)).status_code == 401
    assert _last_used(site.engine, admin) == start + dt.timedelta(seconds=60)
