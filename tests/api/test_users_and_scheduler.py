"""User storage keeps no secret in clear; the scheduler syncs what is due."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from tests.support.app import Server, connect_and_sync
from tests.support.months import edge_days

from smp.model import Integration
from smp.model.users import UserRole, UserRuleError
from smp.runtime.in_process import schedule_forever
from smp.runtime.schedule import is_due
from smp.services.passwords import verify_password
from smp.services.users import authenticate, create_user
from smp.storage import StorageError, list_sync_runs
from smp.storage.tables import ApiTokenRow, UserRow
from smp.storage.users import create_api_token, delete_user, user_for_token


def test_passwords_and_tokens_are_stored_hashed(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        create_user(session, "Hash-Check", "s3cret password", UserRole.VIEWER)
        _, raw = create_api_token(session, "hash-check", "t")
        stored = session.scalar(
            select(UserRow.password_hash).where(UserRow.name == "hash-check")
        )
        hashes = list(session.scalars(select(ApiTokenRow.token_hash)))
        assert stored is not None
        assert "s3cret" not in stored
        assert verify_password("s3cret password", stored)
        assert not verify_password("s3cret passwore", stored)
        assert raw not in hashes
        assert user_for_token(session, raw) is not None
        assert user_for_token(session, raw + "x") is None
        assert authenticate(session, "HASH-CHECK", "s3cret password") is not None
        assert authenticate(session, "hash-check", "wrong password") is None
        assert authenticate(session, "nobody", "s3cret password") is None
        assert authenticate(session, "x" * 10_000, "y" * 10_000) is None


def test_user_rules(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        for name, password in (
            ("", "long enough"),
            ("a/b", "long enough"),
            ("ok-name", "short"),
            ("x" * 65, "long enough"),
            ("<zoë>", "long enough"),
        ):
            with pytest.raises(UserRuleError):
                create_user(session, name, password, UserRole.VIEWER)
        only = create_user(session, "only-admin-check", "long enough", UserRole.ADMIN)
        admins = session.scalars(select(UserRow).where(UserRow.role == "admin")).all()
        if len(admins) == 1:
            with pytest.raises(StorageError):
                delete_user(session, only.name)


def _integration(
    iid: int, created: dt.datetime, last: dt.datetime | None, interval: int | None
) -> Integration:
    return Integration(iid, f"i{iid}", "global", created, None, interval, last)


# An hour into each day: the last syncs below fall on the day, month or year before.
@pytest.mark.parametrize("day", edge_days())
def test_due_integrations(day: dt.date) -> None:
    hour = dt.timedelta(hours=1)
    now = dt.datetime.combine(day, dt.time(1), dt.UTC)
    created = now - 30 * 24 * hour
    integrations = [
        _integration(1, created, None, None),  # never synced
        _integration(2, created, now - 5 * hour, None),  # default 6 h not passed
        _integration(3, created, now - 7 * hour, None),  # passed
        _integration(4, created, now - 2 * hour, 3600),  # own 1 h interval passed
        _integration(5, created, now - 6 * hour, None),  # exactly due
    ]
    due = [i.id for i in integrations if is_due(i, now, 6 * 3600)]
    assert due == [1, 3, 4, 5]


async def test_scheduler_syncs_a_due_integration(server: Server) -> None:
    iid = await connect_and_sync(server, "Scheduled")
    with Session(server.setup.engine) as session:
        before = len(list_sync_runs(session, iid))
    runner = server.app.state.smp.syncs
    later = server.setup.context.now() + dt.timedelta(hours=7)
    task = asyncio.create_task(
        schedule_forever(
            runner,
            server.setup.engine,
            tick_s=0.05,
            default_interval_s=6 * 3600,
            now=lambda: later,
        )
    )
    try:
        for _ in range(200):
            await asyncio.sleep(0.05)
            await runner.wait(iid)
            with Session(server.setup.engine) as session:
                runs = list_sync_runs(session, iid)
            if len(runs) > before:
                break
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await runner.wait_all()
    assert runs[0].trigger == "schedule"
