"""Syncs inside `smp serve`: one task per integration, and the interval scheduler.

The sync engine's lock already keeps two syncs of one integration apart, even
across processes; the runner only avoids queueing duplicates in this process
and lets pages show "sync running". A sync that finds the integration locked
(by `smp sync` or another server) waits its turn, polling here rather than in
a thread, so that stopping the server never waits for a lock.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy import Engine

from smp.runtime.alerting import AlertRounds
from smp.runtime.schedule import due_integrations
from smp.storage import LockBusyError, SecretBox, read_session
from smp.sync import SyncContext, run_sync

log = logging.getLogger(__name__)

# How long a background sync waits for another sync of the same integration.
LOCK_WAIT_S = 600.0
LOCK_POLL_S = 0.25


class SyncRunner:
    def __init__(
        self,
        engine: Engine,
        box: SecretBox,
        context: SyncContext,
        *,
        lock_wait_s: float = LOCK_WAIT_S,
    ) -> None:
        self._engine = engine
        self._box = box
        self._context = context
        self._lock_wait_s = lock_wait_s
        self._tasks: dict[int, asyncio.Task[None]] = {}

    def running(self, integration_id: int) -> bool:
        task = self._tasks.get(integration_id)
        return task is not None and not task.done()

    def start(
        self,
        integration_id: int,
        trigger: str,
        *,
        started_by: str | None = None,
        source: str | None = None,
    ) -> bool:
        """Start a sync in the background; False when one is already running.

        `started_by` and `source` go to the audit trail (None: SMP itself)."""
        if self.running(integration_id):
            return False
        asked = (started_by, source)
        task = asyncio.get_running_loop().create_task(
            self._run(integration_id, trigger, asked), name=f"smp-sync-{integration_id}"
        )
        self._tasks[integration_id] = task
        return True

    async def _run(
        self, integration_id: int, trigger: str, asked: tuple[str | None, str | None]
    ) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._lock_wait_s
        try:
            while True:
                try:
                    report = await run_sync(
                        self._engine,
                        self._box,
                        integration_id,
                        self._context,
                        trigger=trigger,
                        started_by=asked[0],
                        source=asked[1],
                    )
                    break
                except LockBusyError:
                    if loop.time() >= deadline:
                        raise
                    await asyncio.sleep(LOCK_POLL_S)
            log.info(
                "sync of integration %s (%s): %s",
                integration_id,
                trigger,
                report.outcome.value,
            )
        except LockBusyError:
            log.warning(
                "sync of integration %s (%s) gave up: another sync held it for %g s",
                integration_id,
                trigger,
                self._lock_wait_s,
            )
        except Exception as error:  # a background task has nobody else to tell
            log.error(
                "sync of integration %s failed: %s",
                integration_id,
                type(error).__name__,
            )

    async def wait(self, integration_id: int) -> None:
        task = self._tasks.get(integration_id)
        if task is not None:
            await asyncio.shield(task)

    async def wait_all(self) -> None:
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def aclose(self) -> None:
        tasks = [t for t in self._tasks.values() if not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def start_due(
    runner: SyncRunner, engine: Engine, now: dt.datetime, default_interval_s: int
) -> list[int]:
    """One scheduler tick: start a sync of each due integration; their ids."""
    with read_session(engine) as session:
        due = [i.id for i in due_integrations(session, now, default_interval_s)]
    for integration_id in due:
        runner.start(integration_id, "schedule")
    return due


async def schedule_forever(
    runner: SyncRunner,
    engine: Engine,
    *,
    tick_s: float,
    default_interval_s: int,
    now: Callable[[], dt.datetime],
    alerts: AlertRounds | None = None,
) -> None:
    """Every `tick_s`, start a sync of each due integration (and an alert round).
    Runs until cancelled."""
    try:
        while True:
            try:
                start_due(runner, engine, now(), default_interval_s)
            except Exception as error:  # keep scheduling through a passing DB failure
                log.error("scheduler: %s", type(error).__name__)
            if alerts is not None:
                alerts.start(now())
            await asyncio.sleep(tick_s)
    finally:
        if alerts is not None:
            await alerts.aclose()
