"""Entering a sync: at most a few per database at once, then the integration lock.

Each sync holds a database connection for its lock (PostgreSQL advisory lock)
and briefly needs another one to write. Left unbounded, 50 syncs started at
once (the API, the scheduler, `smp sync --all`) take all 15 connections of
SQLAlchemy's default pool for their locks and then wait forever for a
connection to write with. The gate keeps them well inside the pool; the
others wait their turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref

from sqlalchemy import Engine

from smp.storage import integration_lock
from smp.sync.off_loop_writers import on_thread

# Syncs per engine (and event loop) at once; leaves room in a pool of 15.
MAX_CONCURRENT_SYNCS = 8
# SQLite's lock is a lease row, not a held connection: there, twice as many
# syncs keep the network busy while others wait for the writer (ADR 15).
MAX_CONCURRENT_SYNCS_SQLITE = 16

_gates: weakref.WeakKeyDictionary[
    Engine, dict[asyncio.AbstractEventLoop, asyncio.Semaphore]
] = weakref.WeakKeyDictionary()


def _gate(engine: Engine) -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    per_loop = _gates.setdefault(engine, {})
    gate = per_loop.get(loop)
    if gate is None:
        # Forget gates of closed loops (each test, each asyncio.run has its own).
        for old in [old for old in per_loop if old.is_closed()]:
            del per_loop[old]
        limit = (
            MAX_CONCURRENT_SYNCS_SQLITE
            if engine.dialect.name == "sqlite"
            else MAX_CONCURRENT_SYNCS
        )
        gate = per_loop[loop] = asyncio.Semaphore(limit)
    return gate


async def enter_sync(
    engine: Engine, integration_id: int, timeout_s: float
) -> contextlib.AsyncExitStack:
    """Pass the gate, then take the lock; the returned stack releases both.

    The lock is taken and released in a thread: on SQLite both are writes
    that may wait for the write lock, and the event loop must not. If we are
    cancelled while the thread still waits, the lock is released as soon as
    the thread gets it.
    """
    stack = contextlib.AsyncExitStack()
    await stack.enter_async_context(_gate(engine))
    held = contextlib.ExitStack()
    lock = integration_lock(engine, integration_id, timeout_s=timeout_s)
    waiting = asyncio.ensure_future(asyncio.to_thread(held.enter_context, lock))
    try:
        await asyncio.shield(waiting)
    except BaseException:
        waiting.add_done_callback(lambda _: held.close())
        await stack.aclose()
        raise
    stack.push_async_callback(on_thread, held.close)
    return stack
