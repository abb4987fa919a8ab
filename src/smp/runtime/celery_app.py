"""The Celery adapter (`pip install smp[celery]`): scale syncs out over N workers.

`celery -A smp.runtime.celery_app worker` or `smp worker` runs the tasks,
`smp scheduler` (Celery beat) enqueues due integrations. Messages carry only
an integration id and the `last_sync_at` the sender saw, never a key.

Delivery guarantees (docs/adr/0010-celery.md):
* `acks_late`: a message is acknowledged after its sync, so a worker killed
  mid-sync leaves it unacknowledged and Redis redelivers it after the
  visibility timeout.
* Idempotent: a message whose sync already happened (its `last_sync_at` is
  stale) is skipped, so redeliveries and duplicate dispatches sync once.
* The integration lock (PostgreSQL advisory lock) keeps two workers apart.
* Retries follow the sync engine's error classes: lock busy, database
  unreachable, passing SendGrid failures are retried with backoff; an unknown
  integration or an unusable master key is dropped at once with one log line.

Configuration comes from the environment (read when this module is imported,
as Celery expects): SMP_BROKER_URL, SMP_CELERY_QUEUE,
SMP_CELERY_VISIBILITY_TIMEOUT_S, SMP_CELERY_RESTORE_INTERVAL_S,
SMP_CELERY_KEY_PREFIX, SMP_SCHEDULER_TICK_S, plus SMP_DATABASE_URL / SMP_HOME
and the master key (SMP_SECRET_KEY) as for every SMP command.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from typing import Any

from celery import Celery
from sqlalchemy.exc import DBAPIError

from smp.runtime.alerting import alert_round
from smp.runtime.worker import Skipped, worker_runtime
from smp.services.alerts.delivery import AlertSettingError
from smp.storage import (
    ConfigError,
    LockBusyError,
    MasterKeyError,
    RecordNotFoundError,
    StorageError,
)

log = logging.getLogger("smp.worker")

DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/0"
DEFAULT_QUEUE = "smp"

# Retry plans: (first countdown s, cap s, max retries).
LOCK_RETRY = (5.0, 60.0, 60)  # another worker is syncing it: ~1 hour
DATABASE_RETRY = (5.0, 120.0, 60)  # the database is down: ~2 hours
SENDGRID_RETRY = (60.0, 600.0, 3)  # a passing SendGrid failure


def _env(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


def celery_settings() -> dict[str, Any]:
    queue = _env("SMP_CELERY_QUEUE", DEFAULT_QUEUE)
    tick = float(_env("SMP_SCHEDULER_TICK_S", "60"))
    transport: dict[str, Any] = {
        # Must exceed the longest sync, or a running sync is delivered twice
        # (harmless: the second waits for the lock, then skips; but wasteful).
        "visibility_timeout": float(_env("SMP_CELERY_VISIBILITY_TIMEOUT_S", "3600")),
        "unacked_restore_interval": float(_env("SMP_CELERY_RESTORE_INTERVAL_S", "10")),
        "unacked_restore_throttle": 1,
        # Publishing must not hang forever on a broker that vanished silently.
        "socket_timeout": 30.0,
        "socket_connect_timeout": 10.0,
    }
    prefix = os.environ.get("SMP_CELERY_KEY_PREFIX", "").strip()
    if prefix:
        transport["global_keyprefix"] = prefix
    return {
        "broker_url": _env("SMP_BROKER_URL", DEFAULT_BROKER_URL),
        "broker_transport_options": transport,
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,  # keep reconnecting, and log it
        "task_default_queue": queue,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_ignore_result": True,
        "worker_prefetch_multiplier": 1,
        "worker_hijack_root_logger": False,
        "worker_redirect_stdouts": False,
        "beat_schedule": {
            "smp-dispatch-due": {
                "task": "smp.dispatch_due",
                "schedule": tick,
                # A tick nobody ran in time is replaced by the next one.
                "options": {"queue": queue, "expires": tick},
            },
            # Findings to alerts (docs/alerts.md): claims keep each one sent once.
            "smp-deliver-alerts": {
                "task": "smp.deliver_alerts",
                "schedule": tick,
                "options": {"queue": queue, "expires": tick},
            },
        },
        "timezone": "UTC",
    }


class DroppedTask(Exception):
    """A task that can never succeed: it fails once, logged in one line."""


app = Celery("smp")
app.conf.update(celery_settings())
# One line per request would drown the worker's own log lines.
logging.getLogger("httpx").setLevel(logging.WARNING)


def _countdown(plan: tuple[float, float, int], retries: int) -> float:
    first, cap, _ = plan
    return float(min(cap, first * 2**retries))


def _retry(
    task: Any, plan: tuple[float, float, int], error: Exception, why: str
) -> Exception:
    countdown = _countdown(plan, task.request.retries)
    log.warning(
        "%s; retrying in %.0f s (retry %d of %d)",
        why,
        countdown,
        task.request.retries + 1,
        plan[2],
    )
    retried: Exception = task.retry(exc=error, countdown=countdown, max_retries=plan[2])
    return retried


def _sync_integration(
    task: Any, integration_id: int, seen_last_sync: str | None = None
) -> str:
    """Sync one integration; `seen_last_sync` makes a repeat a no-op."""
    try:
        outcome = worker_runtime().sync(
            integration_id, seen_last_sync, lock_timeout_s=0.0
        )
    except RecordNotFoundError as error:
        log.error(
            "dropping the sync of integration %s: %s (not retried)",
            integration_id,
            error,
        )
        raise DroppedTask(str(error)) from None
    except (MasterKeyError, ConfigError) as error:
        log.error(
            "dropping the sync of integration %s: %s (fix the configuration; "
            "not retried)",
            integration_id,
            error,
        )
        raise DroppedTask(str(error)) from None
    except LockBusyError as error:
        raise _retry(
            task, LOCK_RETRY, error, f"integration {integration_id} is busy"
        ) from None
    except (StorageError, DBAPIError, OSError) as error:
        why = (
            f"database unavailable for integration {integration_id}: {_one_line(error)}"
        )
        raise _retry(task, DATABASE_RETRY, error, why) from None
    if isinstance(outcome, Skipped):
        log.info(
            "integration %s already synced at %s; nothing to do",
            integration_id,
            outcome.last_sync_at,
        )
        return "skipped"
    if outcome.database_failed:
        why = (
            f"database unavailable for integration {integration_id} during its "
            f"sync ({', '.join(sorted(outcome.transient))} not written)"
        )
        raise _retry(task, DATABASE_RETRY, RuntimeError(why), why)
    if outcome.transient:
        failed = RuntimeError("; ".join(outcome.errors))
        why = (
            f"integration {integration_id}: {', '.join(sorted(outcome.transient))} "
            "failed for a passing reason"
        )
        raise _retry(task, SENDGRID_RETRY, failed, why)
    log.info(
        "integration %s synced: run %s, %s, %d requests",
        integration_id,
        outcome.run_id,
        outcome.outcome.value,
        outcome.requests,
    )
    return outcome.outcome.value


def _dispatch_due(task: Any) -> int:
    """Enqueue every integration whose interval has passed (run by beat)."""
    try:
        due = worker_runtime().due(dt.datetime.now(dt.UTC))
    except (StorageError, DBAPIError, OSError) as error:
        # The next tick tries again; nothing is lost by skipping one.
        log.warning(
            "scheduler tick skipped, database unavailable: %s", _one_line(error)
        )
        return 0
    for integration_id, stamp in due:
        sync_integration.apply_async(
            (integration_id, stamp), queue=task.app.conf.task_default_queue
        )
    if due:
        log.info("scheduled %d due integrations", len(due))
    return len(due)


def _one_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


sync_integration = app.task(
    bind=True,
    name="smp.sync_integration",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
    # Expected failures are logged without a traceback, and acknowledged.
    throws=(DroppedTask,),
)(_sync_integration)
dispatch_due = app.task(bind=True, name="smp.dispatch_due")(_dispatch_due)


def _deliver_alerts(task: Any) -> int:
    """One alert round on this worker (run by beat); how many were sent."""
    del task
    runtime = worker_runtime()
    try:
        now = dt.datetime.now(dt.UTC)
        report = runtime.run(alert_round(runtime.engine, runtime.box, now))
    except (StorageError, DBAPIError, OSError) as error:
        log.warning("alert round skipped, database unavailable: %s", _one_line(error))
        return 0
    except AlertSettingError as error:  # SMP_ALERT_DIGEST_HOUR to fix
        log.error("alert round not run: %s", error)
        return 0
    return report.sent


deliver_alerts = app.task(bind=True, name="smp.deliver_alerts")(_deliver_alerts)


def enqueue_sync(integration_id: int, seen_last_sync: str | None = None) -> None:
    """Ask the workers to sync one integration (from the API, CLI, tests)."""
    sync_integration.apply_async((integration_id, seen_last_sync))
