"""Real Celery workers (`smp worker` subprocesses) on the real Redis and PostgreSQL.

Each test cluster gets its own queue and Redis key prefix (in Redis database 15,
from SMP_TEST_REDIS_URL), so parallel runs never see each other's messages.
Workers run in their own process group and are killed in teardown whatever
happens.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from celery import Celery
from sqlalchemy import Engine
from tests.support.simulator import CONFIRMED_BY, new_key

from smp.services.onboarding import connect
from smp.simulator import World
from smp.storage import SecretBox
from smp.sync import SyncContext

SMP = str(Path(sys.executable).with_name("smp"))


@dataclass
class Worker:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        """SIGKILL the worker's whole process group, as a crash would."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@dataclass
class Cluster:
    """A queue, its producer, and the workers consuming it."""

    redis_url: str
    database_url: str
    master_key: str
    base_env: dict[str, str]
    directory: Path
    queue: str = field(default_factory=lambda: f"smp-test-{uuid.uuid4().hex[:10]}")
    workers: list[Worker] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.producer = Celery("smp-test-producer", broker=self.redis_url)
        self.producer.conf.update(
            broker_transport_options={"global_keyprefix": f"{self.queue}:"},
            task_default_queue=self.queue,
        )

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **self.base_env,
            "SMP_HOME": str(self.directory / "home"),
            "SMP_DATABASE_URL": self.database_url,
            "SMP_SECRET_KEY": self.master_key,
            "SMP_BROKER_URL": self.redis_url,
            "SMP_CELERY_QUEUE": self.queue,
            "SMP_CELERY_KEY_PREFIX": f"{self.queue}:",
            "SMP_CELERY_RESTORE_INTERVAL_S": "1",
            "NO_COLOR": "1",
            **extra,
        }

    def start_worker(self, name: str, concurrency: int = 4, **env: str) -> Worker:
        log = self.directory / f"{name}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [
                    SMP,
                    "worker",
                    f"--concurrency={concurrency}",
                    f"--hostname={name}@smp-test",
                ],
                env=self.env(**env),
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        worker = Worker(name, process, log)
        self.workers.append(worker)
        wait_for(lambda: " ready." in worker.text(), 30, f"{name} to start", worker)
        return worker

    def enqueue(self, integration_id: int, seen_last_sync: str | None = None) -> None:
        self.producer.send_task(
            "smp.sync_integration",
            args=(integration_id, seen_last_sync),
            queue=self.queue,
        )

    def close(self) -> None:
        for worker in self.workers:
            worker.kill()
        with self.producer.connection_for_write() as connection:
            client: Any = connection.default_channel.client
            keys = list(client.scan_iter(match=f"{self.queue}:*"))
            if keys:
                client.delete(*keys)


def wait_for(
    condition: Callable[[], bool],
    timeout_s: float,
    what: str,
    worker: Worker | None = None,
) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if worker is not None and worker.process.poll() is not None:
            raise AssertionError(f"worker {worker.name} exited:\n{worker.text()}")
        if time.monotonic() > deadline:
            detail = f"\n{worker.text()}" if worker is not None else ""
            raise AssertionError(f"waited {timeout_s} s in vain for {what}{detail}")
        time.sleep(0.1)


async def connect_accounts(
    engine: Engine, master: str, world: World, base_url: str
) -> dict[int, str]:
    """Connect every account of `world` with its full and billing keys:
    integration id -> account username."""
    box = SecretBox.from_key(master)
    context = SyncContext()
    integrations = {}
    for account in world.accounts:
        keys = [new_key(world, kind, account) for kind in ("full", "billing")]
        integration, _ = await connect(
            engine,
            box,
            account.username,
            keys,
            context,
            base_url=base_url,
            billing_confirmed_by=CONFIRMED_BY,
        )
        integrations[integration.id] = account.username
    return integrations
