"""`smp worker` and `smp scheduler`: the Celery scale-out (the `smp[celery]` extra).

The embedded mode (`smp sync`, `smp serve` with SQLite) needs neither. Both
commands read the same environment as every SMP command (SMP_DATABASE_URL,
SMP_SECRET_KEY or SMP_HOME) plus SMP_BROKER_URL; see docs/deploy.md.
"""

from __future__ import annotations

import logging
import socket
from typing import Annotated, Any

import typer

from smp.cli.opening import EXIT_BAD_INPUT, fail, user_errors
from smp.storage import ensure_home
from smp.sync import default_limiter
from smp.sync.gc_tuning import tune_for_sync

# Syncs one worker runs at once; the same bound as one `smp sync --all`.
DEFAULT_CONCURRENCY = 8


def _celery_app() -> Any:
    try:
        from smp.runtime.celery_app import app
    except ImportError:
        fail(
            "the Celery extra is not installed: pip install 'smp[celery]'",
            EXIT_BAD_INPUT,
        )
    return app


def _logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def register(app: typer.Typer) -> None:
    @app.command("worker")
    def worker(
        concurrency: Annotated[
            int, typer.Option(min=1, help="Syncs this worker runs at once.")
        ] = DEFAULT_CONCURRENCY,
        queue: Annotated[
            str | None,
            typer.Option(help="Queue to consume (default: SMP_CELERY_QUEUE or smp)."),
        ] = None,
        hostname: Annotated[
            str | None, typer.Option(help="Worker name (default: smp@<host>).")
        ] = None,
        loglevel: Annotated[str, typer.Option(help="Log level.")] = "info",
    ) -> None:
        """Run a Celery worker that syncs integrations from the queue."""
        celery = _celery_app()
        with user_errors():
            default_limiter()  # a bad SMP_GLOBAL_IN_FLIGHT stops here, not per task
        _logging(loglevel)
        argv = [
            "worker",
            # Threads share one event loop and one in-flight limiter per process.
            "--pool=threads",
            f"--concurrency={concurrency}",
            f"--queues={queue or celery.conf.task_default_queue}",
            f"--hostname={hostname or f'smp@{socket.gethostname()}'}",
            f"--loglevel={loglevel.upper()}",
            "--without-gossip",
            "--without-mingle",
        ]
        tune_for_sync()
        celery.worker_main(argv)

    @app.command("scheduler")
    def scheduler(
        loglevel: Annotated[str, typer.Option(help="Log level.")] = "info",
    ) -> None:
        """Run Celery beat: enqueue each integration when its interval is due."""
        celery = _celery_app()
        _logging(loglevel)
        with user_errors():
            home = ensure_home()
        celery.start(
            [
                "beat",
                f"--schedule={home / 'celerybeat-schedule'}",
                f"--loglevel={loglevel.upper()}",
            ]
        )
