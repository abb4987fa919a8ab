"""Where alert rounds run: beside `smp serve`'s scheduler, or as a Celery beat task.

A round (smp.services.alerts.delivery.deliver_due) queues the findings that
opened since the last one and sends what is due: high severity at once, the
daily digest at its hour, retries when their backoff has passed; then the
access reviews' due-date reminders (smp.services.review_reminders). Rounds may
overlap across processes and servers: the delivery table's claims keep each
message to one sender. In one process, a round never overlaps the next: a
tick that finds one still running (a channel timing out) lets it finish.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from sqlalchemy import Engine

from smp.model.rules_registry import BY_ID
from smp.services.alerts.delivery import (
    AlertSettingError,
    AlertSettings,
    RoundReport,
    deliver_due,
)
from smp.services.review_reminders import send_reminders
from smp.storage import SecretBox

log = logging.getLogger(__name__)


def fix_steps(rule: str) -> tuple[str, ...]:
    """The rule's steps in SendGrid's UI; none for a rule SMP no longer has."""
    found = BY_ID.get(rule)
    return found.fix if found is not None else ()


def settings_from_environment() -> AlertSettings:
    return AlertSettings.from_environment(fix_steps=fix_steps)


async def alert_round(
    engine: Engine,
    box: SecretBox,
    now: dt.datetime,
    settings: AlertSettings | None = None,
) -> RoundReport:
    report = await deliver_due(
        engine, box, now, settings or settings_from_environment()
    )
    await send_reminders(engine, box, now)  # access reviews' due dates
    if report.sent or report.failed or report.skipped:
        log.info(
            "alerts: %d sent, %d failed (%d given up), %d no longer open",
            report.sent,
            report.failed,
            report.gave_up,
            report.skipped,
        )
    return report


class AlertRounds:
    """`smp serve`'s alert rounds: started by the scheduler's tick, one at a time."""

    def __init__(self, engine: Engine, box: SecretBox) -> None:
        self._engine = engine
        self._box = box
        self._task: asyncio.Task[None] | None = None

    def start(self, now: dt.datetime) -> bool:
        """Start a round in the background; False while the last one runs."""
        if self._task is not None and not self._task.done():
            return False
        self._task = asyncio.get_running_loop().create_task(
            self._run(now), name="smp-alerts"
        )
        return True

    async def _run(self, now: dt.datetime) -> None:
        try:
            await alert_round(self._engine, self._box, now)
        except AlertSettingError as error:  # SMP_ALERT_DIGEST_HOUR to fix
            log.error("alert round not run: %s", error)
        except Exception as error:  # a background task has nobody else to tell
            log.error("alert round failed: %s", type(error).__name__)

    async def wait(self) -> None:
        """Wait for the running round, if any."""
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def aclose(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
