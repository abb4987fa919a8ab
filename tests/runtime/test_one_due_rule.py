"""`smp serve` and the Celery workers decide alike when an integration is due."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import typer
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tests.runtime.integrations import integration

from smp.cli.main import app as cli
from smp.runtime.in_process import start_due
from smp.runtime.server_config import ServerConfig
from smp.runtime.worker import WorkerRuntime
from smp.storage import SecretBox, generate_key, list_integrations

# The documented default interval (README, docs/api.md), written out: a test
# importing the constant would agree with any value.
DOCUMENTED_S = 6 * 3600
# Seconds since the last sync, around the documented interval and the 1 h the
# worker once used on its own.
ELAPSED = (0, 3600 - 60, 3600 + 60, DOCUMENTED_S - 60, DOCUMENTED_S, DOCUMENTED_S + 60)


class Recorder:
    """Stands in for the server's `SyncRunner`: notes what the scheduler starts."""

    def __init__(self) -> None:
        self.started: list[int] = []

    def start(self, integration_id: int, trigger: str) -> bool:
        self.started.append(integration_id)
        return True


@pytest.fixture
def worker(engine: Engine) -> Iterator[WorkerRuntime]:
    opened = WorkerRuntime(engine, SecretBox.from_key(generate_key()))
    yield opened
    opened.close(dispose_engine=False)


def _serve_default_s() -> int:
    """What `smp serve` passes to its scheduler when run without --sync-every."""
    command = typer.main.get_command(cli)
    assert isinstance(command, typer.core.TyperGroup)
    option = next(p for p in command.commands["serve"].params if p.name == "sync_every")
    assert isinstance(option.default, float)
    return int(option.default * 3600)


def test_serve_and_worker_agree_on_what_is_due(
    engine: Engine, worker: WorkerRuntime
) -> None:
    assert ServerConfig().default_sync_interval_s == _serve_default_s()
    iid = integration(engine, "agree", None, 0)
    keyless = integration(engine, "agree keyless", None, 0, keyed=False)
    with Session(engine) as session:
        (found,) = [i for i in list_integrations(session) if i.id == iid]
    assert found.last_sync_at is not None
    synced = found.last_sync_at.replace(tzinfo=dt.UTC)
    for elapsed in ELAPSED:
        now = synced + dt.timedelta(seconds=elapsed)
        runner = Recorder()
        serve = start_due(runner, engine, now, _serve_default_s())  # type: ignore[arg-type]
        by_worker = [i for i, _ in worker.due(now)]
        assert runner.started == serve
        expected = elapsed >= DOCUMENTED_S
        assert (iid in serve, iid in by_worker) == (expected, expected), elapsed
        assert keyless not in serve
        assert keyless not in by_worker
