"""What a Celery worker process keeps between tasks: one engine, one loop, one limiter.

A worker runs many syncs at once (the `threads` pool: one thread per task).
They all share one asyncio loop in a background thread, so one
`ConcurrencyLimiter` keeps the whole process polite to SendGrid, and one
SQLAlchemy engine keeps the process inside its connection pool. Nothing here
knows Celery: the task module decides what to retry.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from smp.runtime.schedule import DEFAULT_SYNC_INTERVAL_S, due_integrations
from smp.storage import SecretBox, database_url, get_integration, make_engine
from smp.sync.context import SyncContext
from smp.sync.engine import run_sync
from smp.sync.report import SyncReport

log = logging.getLogger(__name__)
T = TypeVar("T")

# The stamp of an integration that has never been synced.
NEVER_SYNCED = "never"


@dataclass(frozen=True, slots=True)
class Skipped:
    """The sync a task asked for already happened (a redelivery or a duplicate)."""

    integration_id: int
    last_sync_at: dt.datetime | None


def _stamp(moment: dt.datetime | None) -> str:
    """A comparable text form of `last_sync_at` (naive UTC in the database)."""
    if moment is None:
        return NEVER_SYNCED
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.isoformat()


class WorkerRuntime:
    """One per worker process, created lazily by the first task."""

    def __init__(
        self,
        engine: Engine,
        box: SecretBox,
        context: SyncContext | None = None,
        *,
        default_interval_s: int = DEFAULT_SYNC_INTERVAL_S,
    ) -> None:
        self.engine = engine
        self.box = box
        self.default_interval_s = default_interval_s
        self._context = context
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="smp-worker-loop", daemon=True
        )
        self._thread.start()

    @classmethod
    def from_environment(cls) -> WorkerRuntime:
        """SMP_DATABASE_URL / SMP_HOME and the master key, as the CLI reads them."""
        return cls(make_engine(database_url()), SecretBox.load())

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run on the shared loop and wait (called from a pool thread)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    async def _context_on_loop(self) -> SyncContext:
        # The limiter's semaphores must be made on the loop that uses them.
        if self._context is None:
            self._context = SyncContext()
        return self._context

    def sync(
        self, integration_id: int, seen_last_sync: str | None, *, lock_timeout_s: float
    ) -> SyncReport | Skipped:
        """Sync unless a sync finished since the caller saw `seen_last_sync`.

        This makes the task idempotent: a redelivered or duplicated message for
        a sync that already completed does nothing.
        """
        with Session(self.engine) as session:
            found = get_integration(session, integration_id)
        if seen_last_sync is not None and _stamp(found.last_sync_at) != seen_last_sync:
            return Skipped(found.id, found.last_sync_at)

        async def go() -> SyncReport:
            context = await self._context_on_loop()
            # The lock timeout is per task; the rest is shared.
            per_task = dataclasses.replace(context, lock_timeout_s=lock_timeout_s)
            return await run_sync(
                self.engine, self.box, found.id, per_task, trigger="worker"
            )

        return self.run(go())

    def due(self, now: dt.datetime) -> list[tuple[int, str]]:
        """Integrations whose interval has passed: (id, last_sync_at stamp)."""
        with Session(self.engine) as session:
            due = due_integrations(session, now, self.default_interval_s)
        return [(i.id, _stamp(i.last_sync_at)) for i in due]

    def close(self, *, dispose_engine: bool = True) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()
        if dispose_engine:
            self.engine.dispose()


_runtime: WorkerRuntime | None = None
_runtime_lock = threading.Lock()


def worker_runtime() -> WorkerRuntime:
    """This process's runtime, created on first use (after any fork)."""
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            _runtime = WorkerRuntime.from_environment()
        return _runtime
