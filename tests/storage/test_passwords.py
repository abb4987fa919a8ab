"""Password hashes at OWASP's scrypt cost, upgraded at sign-in; a new password's reach.

The suite hashes at a test-only cost (tests/conftest.py); the tests here that
are about the real cost remove that setting first.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from smp.model.users import UserRole
from smp.services.passwords import (
    OWASP_SCRYPT,
    TEST_ONLY_SCRYPT,
    ScryptCost,
    hash_password,
    needs_rehash,
    verify_password,
)
from smp.services.users import authenticate, create_user, set_password
from smp.storage.tables import ApiTokenRow, UserRow, WebSessionRow
from smp.storage.users import (
    create_api_token,
    create_web_session,
    find_api_token,
    mark_token_used,
    purge_expired_sessions,
    token_use_is_due,
    user_for_token,
    web_session_user,
)

FAST = "SMP_TEST_ONLY_FAST_PASSWORD_HASH"
OLD_COST = ScryptCost(2**14, 8, 1)  # SMP's cost before OWASP's


def _cost_of(stored: str) -> ScryptCost:
    scheme, n, r, p, _salt, _derived = stored.split("$")
    assert scheme == "scrypt"
    return ScryptCost(int(n), int(r), int(p))


def _stored_hash(engine: Engine, name: str) -> str:
    with Session(engine) as session:
        found = session.scalar(
            select(UserRow.password_hash).where(UserRow.name == name)
        )
    assert found is not None
    return found


def _name() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


def test_the_production_cost_is_owasps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FAST)
    assert (OWASP_SCRYPT.n, OWASP_SCRYPT.r, OWASP_SCRYPT.p) == (2**17, 8, 1)
    stored = hash_password("owasp cost check")
    assert _cost_of(stored) == ScryptCost(131072, 8, 1)
    assert verify_password("owasp cost check", stored)
    assert not verify_password("owasp cost checK", stored)
    assert not needs_rehash(stored)
    # An older, cheaper hash still verifies, and asks to be replaced.
    old = hash_password("old cost", OLD_COST)
    assert verify_password("old cost", old)
    assert needs_rehash(old)


def test_the_test_only_cost_is_only_taken_when_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(FAST, "1")
    assert _cost_of(hash_password("fast")) == TEST_ONLY_SCRYPT
    monkeypatch.setenv(FAST, "yes")
    assert _cost_of(hash_password("fast")) == OWASP_SCRYPT
    # A hash stronger than today's cost is never "upgraded" to a weaker one.
    monkeypatch.setenv(FAST, "1")
    assert not needs_rehash(hash_password("strong", OWASP_SCRYPT))


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "bcrypt$12$x$y",
        "scrypt$16384$8$1$!!!$AAAA",
        "scrypt$1000$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAA",  # N not a power of two
        "scrypt$0$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAA",
        # Would take 64 GiB to check: refused before any allocation.
        "scrypt$67108864$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAA",
    ],
)
def test_a_malformed_or_absurd_hash_never_verifies(stored: str) -> None:
    assert not verify_password("anything", stored)


def test_sign_in_upgrades_an_old_hash(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(FAST)
    name = _name()
    with Session(engine) as session, session.begin():
        create_user(session, name, "an old password", UserRole.VIEWER)
        row = session.scalar(select(UserRow).where(UserRow.name == name))
        assert row is not None
        row.password_hash = hash_password("an old password", OLD_COST)
    with Session(engine) as session, session.begin():
        assert authenticate(session, name, "wrong password") is None
    assert _cost_of(_stored_hash(engine, name)) == OLD_COST  # not on a failure
    with Session(engine) as session, session.begin():
        user = authenticate(session, name, "an old password")
        assert user is not None
        assert user.name == name
    upgraded = _stored_hash(engine, name)
    assert _cost_of(upgraded) == OWASP_SCRYPT
    with Session(engine) as session, session.begin():
        assert authenticate(session, name, "an old password") is not None
    assert _stored_hash(engine, name) == upgraded  # upgraded once, not each time


def test_a_new_password_ends_the_users_sessions_and_tokens(engine: Engine) -> None:
    now = dt.datetime.now(dt.UTC)
    name, other = _name(), _name()
    with Session(engine) as session, session.begin():
        user = create_user(session, name, "first password", UserRole.ADMIN)
        bystander = create_user(session, other, "other password", UserRole.VIEWER)
        cookies = [
            create_web_session(session, user.id, ttl=dt.timedelta(hours=1), now=now)[0]
            for _ in range(2)
        ]
        kept_cookie, _ = create_web_session(
            session, bystander.id, ttl=dt.timedelta(hours=1), now=now
        )
        tokens = [create_api_token(session, name, str(i))[1] for i in range(2)]
        _, kept_token = create_api_token(session, other, "kept")
    with Session(engine) as session, session.begin():
        set_password(session, name, "second password")
    with Session(engine) as session:
        for cookie in cookies:
            assert web_session_user(session, cookie, now=now) is None
        for token in tokens:
            assert user_for_token(session, token) is None
        # Another user's sessions and tokens are not touched.
        assert web_session_user(session, kept_cookie, now=now) is not None
        assert user_for_token(session, kept_token) is not None
        assert authenticate(session, name, "first password") is None
        assert authenticate(session, name, "second password") is not None


def test_expired_sessions_are_purged(engine: Engine) -> None:
    now = dt.datetime.now(dt.UTC)
    hour = dt.timedelta(hours=1)
    with Session(engine) as session, session.begin():
        user = create_user(session, _name(), "a password", UserRole.VIEWER)
        created = {
            age: create_web_session(session, user.id, ttl=hour, now=now - age)[0]
            for age in (3 * hour, 2 * hour, hour, hour / 2, dt.timedelta(0))
        }
    with Session(engine) as session, session.begin():
        purged = purge_expired_sessions(session, now=now)
    with Session(engine) as session:
        left = session.scalar(
            select(func.count()).where(WebSessionRow.user_id == user.id)
        )
        live = {
            age
            for age, raw in created.items()
            if web_session_user(session, raw, now=now)
        }
    # A session created an hour or more before `now` had a one-hour life.
    assert live == {hour / 2, dt.timedelta(0)}
    assert left == 2
    assert purged >= 3  # other tests' expired sessions may go with them


def test_a_tokens_use_is_written_at_most_once_a_minute(engine: Engine) -> None:
    name = _name()
    start = dt.datetime.now(dt.UTC)
    with Session(engine) as session, session.begin():
        create_user(session, name, "a password", UserRole.VIEWER)
        _, raw = create_api_token(session, name, "t", now=start)

    def last_used() -> dt.datetime | None:
        with Session(engine) as session:
            found = find_api_token(session, raw)
        assert found is not None
        return found[1].last_used_at

    def use(at: dt.datetime) -> None:
        with Session(engine) as session:
            found = find_api_token(session, raw)
        assert found is not None
        # The UPDATE holds the condition too: a use that is not due writes nothing.
        with Session(engine) as session, session.begin():
            mark_token_used(session, found[1].id, now=at)

    assert last_used() is None
    use(start)
    assert last_used() == start
    for seconds in (1, 30, 59):
        use(start + dt.timedelta(seconds=seconds))
        assert last_used() == start
    with Session(engine) as session:
        found = find_api_token(session, raw)
    assert found is not None
    assert not token_use_is_due(found[1], start + dt.timedelta(seconds=59))
    assert token_use_is_due(found[1], start + dt.timedelta(seconds=60))
    later = start + dt.timedelta(seconds=61)
    use(later)
    assert last_used() == later
    with Session(engine) as session:
        stored = session.scalar(
            select(ApiTokenRow.last_used_at).where(ApiTokenRow.id == found[1].id)
        )
    assert stored == later
