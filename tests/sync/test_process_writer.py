"""The writer process: a lost process fails only its writes, and who gets one."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from tests.support.simulator import Setup, new_key, wire_up

from smp.model import MemberStatus, Outcome
from smp.sendgrid import wire
from smp.services.onboarding import connect
from smp.simulator import generate_world
from smp.storage import ConfigError, list_members, make_engine, migrate
from smp.sync import ProcessWriter, ThreadWriter, writer_for
from smp.sync import off_loop_writers as writer_module
from smp.sync.engine import run_sync
from smp.sync.off_loop_writers import WRITER_ENV, on_thread
from smp.sync.sanity import UnusableAnswer
from smp.sync.write_jobs import (
    Job,
    WriteTarget,
    Written,
    invoices,
    members,
    perform,
)


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'smp.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def setup(sqlite_engine: Engine) -> Iterator[Setup]:
    world = generate_world(seed=11, accounts=1, teammates=60, pending=3, subusers=4)
    wired = wire_up(world, sqlite_engine)
    writer = ProcessWriter(sqlite_engine)
    assert writer.pid != os.getpid()  # ready: every write goes to the process
    wired.context.writer = writer
    yield wired
    writer.close()


def _active_emails(setup: Setup, iid: int) -> set[str | None]:
    with Session(setup.engine) as session:
        members = list_members(session, iid, status=MemberStatus.ACTIVE)
    return {m.email for m in members}


def _world_emails(setup: Setup) -> set[str | None]:
    return {t["email"] for t in setup.world.accounts[0].teammates}


async def test_a_killed_writer_fails_its_writes_keeps_the_data_and_is_replaced(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    writer = setup.context.writer
    assert isinstance(writer, ProcessWriter)
    integration, _ = await connect(
        setup.engine, setup.box, "acme", [new_key(setup.world, "full")], setup.context
    )
    first = await run_sync(setup.engine, setup.box, integration.id, setup.context)
    assert first.outcome is Outcome.OK, first.to_json()
    stored = _active_emails(setup, integration.id)
    assert stored == _world_emails(setup)

    # The writes really ran in the other process: without it, they fail.
    pid = writer.pid
    assert pid != os.getpid()
    os.kill(pid, signal.SIGKILL)
    await asyncio.to_thread(_wait_gone, pid)
    setup.world.accounts[0].teammates.pop()
    setup.sim.replace_world(setup.world)
    lost = await run_sync(setup.engine, setup.box, integration.id, setup.context)
    failed = {
        name: result.error
        for name, result in lost.capabilities.items()
        if result.outcome is Outcome.FAILED
    }
    assert failed, lost.to_json()
    assert set(failed.values()) == {"database: WriterStopped"}
    assert "could not be written, the writer failed" in caplog.text
    assert lost.database_failed
    assert set(failed) <= lost.transient
    if "members" in failed:
        # Its write never committed: the stored members are the first sync's.
        assert _active_emails(setup, integration.id) == stored

    # The next write started a new process; the sync after that is whole.
    again = await run_sync(setup.engine, setup.box, integration.id, setup.context)
    assert again.outcome is Outcome.OK, again.to_json()
    assert writer.pid not in (pid, os.getpid())
    assert _active_emails(setup, integration.id) == _world_emails(setup)


def _wait_gone(pid: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                return  # dead, not yet reaped by the pool
        time.sleep(0.02)
    raise AssertionError(f"process {pid} is still alive")


async def test_a_writer_refuses_a_job_for_another_database(
    setup: Setup, tmp_path: Path
) -> None:
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        job = Job("members", _never, [], WriteTarget(1, 1, 1, setup.context.now()))
        with pytest.raises(ValueError, match="another database"):
            await setup.context.writer.write(other, job)
    finally:
        other.dispose()


def _never(*_: object) -> Written:
    raise AssertionError("a refused job must not run")


def test_the_writer_is_a_process_for_many_syncs_and_a_thread_otherwise(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(WRITER_ENV, raising=False)
    assert isinstance(writer_for(sqlite_engine, 1), ThreadWriter)
    many = writer_for(sqlite_engine, 200)
    try:
        assert isinstance(many, ProcessWriter)
    finally:
        many.close()
    # Another process cannot see an in-memory database.
    memory = make_engine("sqlite://")
    try:
        assert isinstance(writer_for(memory, 200), ThreadWriter)
    finally:
        memory.dispose()
    monkeypatch.setenv(WRITER_ENV, "thread")
    assert isinstance(writer_for(sqlite_engine, 200), ThreadWriter)
    monkeypatch.setenv(WRITER_ENV, "Process")
    forced = writer_for(sqlite_engine, 1)
    try:
        assert isinstance(forced, ProcessWriter)
    finally:
        forced.close()
    monkeypatch.setenv(WRITER_ENV, "threads")
    # A bad value is the user's to fix: `smp sync` prints it with exit code 2.
    with pytest.raises(ConfigError, match="auto, thread or process"):
        writer_for(sqlite_engine, 1)


async def test_a_runs_bookkeeping_waits_off_the_loop_and_is_waited_for() -> None:
    """`on_thread` (a run's start and end): the loop goes on while it blocks,
    and a cancelled caller returns only once it has ended."""
    ended = threading.Event()
    ticks = 0

    def blocked() -> str:
        time.sleep(0.3)  # as if waiting for SQLite's write lock
        ended.set()
        return threading.current_thread().name

    async def ticker() -> None:
        nonlocal ticks
        while not ended.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    name, _ = await asyncio.gather(on_thread(blocked), ticker())
    assert name != threading.current_thread().name
    assert ticks >= 10  # about 30; a blocked loop would tick once

    ended.clear()
    task = asyncio.create_task(on_thread(blocked))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ended.is_set()


async def test_writes_go_to_the_thread_until_the_process_is_ready(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_this_process: list[str] = []

    def recorded(engine: Engine, job: Job[Any]) -> Written:
        in_this_process.append(job.capability)
        return perform(engine, job)

    # Only this process sees the patch; the writer process runs the original.
    monkeypatch.setattr(writer_module, "perform", recorded)
    writer = ProcessWriter(sqlite_engine)
    try:
        scope = WriteTarget(1, 1, 1, dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC))
        # Spawning takes far longer than this first write.
        early = await writer.write(sqlite_engine, Job("invoices", invoices, [], scope))
        assert early == Written(0)
        assert in_this_process == ["invoices"]
        assert await asyncio.to_thread(lambda: writer.pid) != os.getpid()
        # Invoices again: a first invites listing, even an empty one, records
        # a baseline event, which needs an integration this database lacks.
        later = await writer.write(sqlite_engine, Job("invoices", invoices, [], scope))
        assert later == Written(0)
        assert in_this_process == ["invoices"]  # the process wrote it
    finally:
        writer.close()


async def test_a_refused_or_failed_write_reaches_the_caller_as_its_own_error(
    setup: Setup,
) -> None:
    """Errors come back from the writer process as the classes `Run.step`
    sorts by: an unusable answer, a database error."""
    writer = setup.context.writer
    scope = WriteTarget(1, 1, 1, setup.context.now())
    huge = wire.Teammate(username="x" * 5000, email="x@corp.example")
    with pytest.raises(UnusableAnswer, match="username"):
        await writer.write(setup.engine, Job("members", members, [huge], scope))
    # No integration 999: the foreign key refuses the rows.
    missing = WriteTarget(999, 999, 999, setup.context.now())
    good = wire.Teammate(username="ana", email="ana@corp.example")
    with pytest.raises(DBAPIError):
        await writer.write(setup.engine, Job("members", members, [good], missing))
    # The writer is still there for the next write.
    assert await writer.write(setup.engine, Job("invoices", invoices, [], scope)) == (
        Written(0)
    )
