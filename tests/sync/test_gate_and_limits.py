"""Entering and leaving a sync off the event loop, and the process's request limits."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from smp.storage import (
    ConfigError,
    LockBusyError,
    create_integration,
    integration_lock,
    make_engine,
    migrate,
)
from smp.sync import GLOBAL_IN_FLIGHT_ENV, SyncContext, default_limiter
from smp.sync.gate import enter_sync


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Iterator[tuple[Engine, Path, int]]:
    path = tmp_path / "smp.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    with Session(engine) as session, session.begin():
        iid = create_integration(session, "acme").id
    yield engine, path, iid
    engine.dispose()


async def test_leaving_a_sync_waits_for_the_write_lock_off_the_loop(
    sqlite_file: tuple[Engine, Path, int],
) -> None:
    """Releasing SQLite's lease is a write: while another connection holds the
    write lock the loop goes on, and the lease is gone afterwards."""
    engine, path, iid = sqlite_file
    stack = await enter_sync(engine, iid, timeout_s=0)
    with pytest.raises(LockBusyError), integration_lock(engine, iid, timeout_s=0):
        pass  # held by the sync
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    released = threading.Event()
    timer = threading.Timer(0.3, lambda: (other.rollback(), released.set()))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while not released.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    timer.start()
    try:
        await asyncio.gather(stack.aclose(), ticker())
    finally:
        timer.join()
        other.close()
    assert ticks >= 10  # about 30; a loop blocked on the lock ticks once
    with integration_lock(engine, iid, timeout_s=0):
        pass  # free again


def test_the_global_limit_of_requests_in_flight_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(GLOBAL_IN_FLIGHT_ENV, raising=False)
    default = SyncContext().limiter
    assert (default.global_limit, default.per_key_limit) == (16, 8)
    monkeypatch.setenv(GLOBAL_IN_FLIGHT_ENV, " 48 ")
    configured = SyncContext().limiter
    assert (configured.global_limit, configured.per_key_limit) == (48, 8)
    for bad in ("0", "-3", "many", "2.5"):
        monkeypatch.setenv(GLOBAL_IN_FLIGHT_ENV, bad)
        with pytest.raises(ConfigError, match=f"{GLOBAL_IN_FLIGHT_ENV}.*{bad!r}"):
            default_limiter()
