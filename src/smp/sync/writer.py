"""Where a sync's writes run: one thread per process, off the event loop.

A write (one capability's complete listing, in one transaction) takes tens of
milliseconds for an account's 1,000 members, much of it inside SQLite, which
lets go of the GIL. Run on the event loop, it held up every response in flight
for that long, so fewer requests were in flight than the limits allow. On one
thread, writes still never overlap (SQLite has a single writer anyway) and run
in the order they were asked for.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

_executor: ThreadPoolExecutor | None = None
_guard = threading.Lock()


def _writer() -> ThreadPoolExecutor:
    global _executor
    with _guard:
        if _executor is None:
            _executor = ThreadPoolExecutor(1, thread_name_prefix="smp-writer")
        return _executor


def _forget_after_fork() -> None:
    # A forked child has the executor but not its thread: make a new one.
    global _executor, _guard
    _executor, _guard = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


async def off_loop(work: Callable[[], T]) -> T:
    """Run `work` on the writer thread and wait for it without blocking the loop.

    A cancelled caller still waits for a write that has started: its
    transaction commits or rolls back as a whole, and what the caller does
    next (closing the run) must come after it.
    """
    future = asyncio.get_running_loop().run_in_executor(_writer(), work)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait([future])
        raise
