"""Where a sync's writes run: one writer per process, off the event loop.

A write (one capability's complete listing, in one transaction) takes tens of
milliseconds for an account's 1,000 members. Run on the event loop, it held up
every response in flight for that long. Every writer runs writes one at a
time, in the order they were asked for (SQLite has a single writer anyway):

- `ThreadWriter`, the default: one thread. Its writes share the GIL with the
  event loop, which is fine for a few syncs at once.
- `ProcessWriter`: one process of its own, with its own engine on the same
  database. `smp sync --all` uses it for many syncs: the writes then no longer
  compete with the loop for the GIL (ADR 15). Jobs and results are pickled;
  see `smp.sync.write_jobs`.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol, TypeVar

from sqlalchemy import Engine

from smp.storage import ConfigError, make_engine
from smp.sync.gc_tuning import tune_for_sync
from smp.sync.sanity import refused_values
from smp.sync.write_jobs import Job, Written, perform

T = TypeVar("T")

_executor: ThreadPoolExecutor | None = None
_guard = threading.Lock()


class WriterStopped(RuntimeError):
    """The writer process ended before it answered; its write did not commit."""


class Writer(Protocol):
    async def write(self, engine: Engine, job: Job[Any]) -> Written: ...

    def close(self) -> None: ...


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


async def _finished(future: asyncio.Future[T]) -> T:
    """Wait for a started write; a cancelled caller still waits for it.

    Its transaction commits or rolls back as a whole, and what the caller does
    next (closing the run) must come after it.
    """
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait([future])
        raise


async def off_loop(work: Callable[[], T]) -> T:
    """Run `work` on the writer thread and wait for it without blocking the loop."""
    return await _finished(asyncio.get_running_loop().run_in_executor(_writer(), work))


async def on_thread(work: Callable[[], T]) -> T:
    """Run a sync's own bookkeeping (its run's start and end, the release of
    its lock) on a worker thread.

    Not on the writer: it must not queue behind other syncs' writes. Nor on
    the loop: waiting there for SQLite's write lock stalled every request in
    flight. A cancelled caller still waits for it.
    """
    return await _finished(asyncio.get_running_loop().run_in_executor(None, work))


def _write(engine: Engine, job: Job[Any]) -> Written:
    """One write. A value the database cannot hold becomes an UnusableAnswer
    here, in the writer (thread or process): what reaches `Run.step` is then
    bad data for this capability, never a database outage."""
    with refused_values(job.capability):
        return perform(engine, job)


class ThreadWriter:
    async def write(self, engine: Engine, job: Job[Any]) -> Written:
        return await off_loop(lambda: _write(engine, job))

    def close(self) -> None:
        """The thread is shared by the process and lives as long as it does."""


# The writer process's engine, made by `_start_child`.
_child_engine: Engine | None = None


def _start_child(url: str) -> None:
    global _child_engine
    # Ctrl-C is the parent's to handle: it waits for a started write to end.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _child_engine = make_engine(url)
    tune_for_sync()


def _perform_in_child(job: Job[Any]) -> Written:
    assert _child_engine is not None, "the writer process has no engine"
    return _write(_child_engine, job)


def _ready() -> int:
    return os.getpid()


class ProcessWriter:
    """Writes in a process of its own, started now.

    Until the process is ready (a second or more of imports), writes go to
    the writer thread: otherwise every sync's first write would wait for it.
    """

    def __init__(self, engine: Engine) -> None:
        self._url = engine.url
        self._pool: ProcessPoolExecutor | None = None
        self._starting: Future[int] | None = None
        self._meanwhile = ThreadWriter()
        self._start()

    def _start(self) -> None:
        self._pool = ProcessPoolExecutor(
            1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_child,
            initargs=(self._url.render_as_string(hide_password=False),),
        )
        self._starting = self._pool.submit(_ready)

    @property
    def pid(self) -> int:
        """The writer process's id, once it is ready (tests stop it)."""
        assert self._starting is not None
        return self._starting.result()

    async def write(self, engine: Engine, job: Job[Any]) -> Written:
        if engine.url != self._url:
            raise ValueError("this writer writes to another database")
        if self._pool is None:
            self._start()
        pool, starting = self._pool, self._starting
        assert pool is not None
        assert starting is not None
        if not starting.done():
            return await self._meanwhile.write(engine, job)
        loop = asyncio.get_running_loop()
        try:
            return await _finished(loop.run_in_executor(pool, _perform_in_child, job))
        except BrokenProcessPool as error:
            # Its transaction never committed; the next write gets a new process.
            self._discard(pool)
            raise WriterStopped("the writer process stopped") from error

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        # Writes queued behind the lost one fail too: only the first discards.
        if self._pool is pool:
            self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


# From this many syncs at once a writer process pays for its start (about a
# second of imports, in parallel with the first requests).
PROCESS_WRITER_FROM = 4
WRITER_ENV = "SMP_SYNC_WRITER"


def writer_for(engine: Engine, syncs: int) -> Writer:
    """The writer for `syncs` syncs at once; SMP_SYNC_WRITER=thread|process decides."""
    choice = os.environ.get(WRITER_ENV, "auto").strip().lower()
    if choice not in {"auto", "thread", "process"}:
        raise ConfigError(
            f"{WRITER_ENV} must be auto, thread or process, not {choice!r}"
        )
    if choice == "thread" or _in_memory(engine):
        return ThreadWriter()
    if choice == "process" or syncs >= PROCESS_WRITER_FROM:
        return ProcessWriter(engine)
    return ThreadWriter()


def _in_memory(engine: Engine) -> bool:
    """A database only this process can see: another process cannot write to it."""
    url = engine.url
    if not url.drivername.startswith("sqlite"):
        return False
    return url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"
