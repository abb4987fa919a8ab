"""The scheduler's choice of due integrations, and a task's idempotency check."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from tests.runtime.integrations import NOW, integration

from smp.runtime.worker import NEVER_SYNCED, Skipped, WorkerRuntime
from smp.storage import (
    RecordNotFoundError,
    SecretBox,
    generate_key,
)

# The documented default interval (docs/deploy.md), written out, not imported.
SIX_HOURS = 6 * 3600


@pytest.fixture
def runtime(engine: Engine) -> Iterator[WorkerRuntime]:
    opened = WorkerRuntime(engine, SecretBox.from_key(generate_key()))
    yield opened
    opened.close(dispose_engine=False)  # the engine is shared by the module


def test_due_follows_each_interval(engine: Engine, runtime: WorkerRuntime) -> None:
    before = {iid for iid, _ in runtime.due(NOW)}
    never = integration(engine, "d never", None, None)
    fresh = integration(engine, "d fresh", None, SIX_HOURS - 60)
    stale = integration(engine, "d stale", None, SIX_HOURS + 60)
    short = integration(engine, "d short", 60, 120)
    long_ = integration(engine, "d long", 86_400, 7_200)
    keyless = integration(engine, "d keyless", None, None, keyed=False)
    due = {iid: stamp for iid, stamp in runtime.due(NOW) if iid not in before}
    assert set(due) == {never, stale, short}
    assert fresh not in due
    assert long_ not in due
    assert keyless not in due
    assert due[never] == NEVER_SYNCED
    stamp = (NOW - dt.timedelta(seconds=120)).replace(tzinfo=None).isoformat()
    assert due[short] == stamp


def test_a_task_whose_sync_already_happened_does_nothing(
    engine: Engine, runtime: WorkerRuntime
) -> None:
    iid = integration(engine, "d done", 60, 30)
    # The dispatcher saw it never synced; a sync finished since: skip.
    outcome = runtime.sync(iid, NEVER_SYNCED, lock_timeout_s=0.0)
    assert isinstance(outcome, Skipped)
    assert outcome.last_sync_at is not None
    synced_at = outcome.last_sync_at.replace(tzinfo=dt.UTC)
    assert synced_at == NOW - dt.timedelta(seconds=30)


def test_an_unknown_integration_is_refused(runtime: WorkerRuntime) -> None:
    with pytest.raises(RecordNotFoundError):
        runtime.sync(987_654, None, lock_timeout_s=0.0)
