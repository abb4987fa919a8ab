"""The scheduler's choice of due integrations, and a task's idempotency check."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from smp.model import KeyKind, KeyStatus, Outcome
from smp.runtime.worker import NEVER_SYNCED, Skipped, WorkerRuntime
from smp.storage import (
    RecordNotFoundError,
    SecretBox,
    add_service_account,
    create_integration,
    finish_sync_run,
    generate_key,
    set_sync_interval,
    start_sync_run,
)

# The real clock, read once, in whole seconds as every database keeps them.
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
# The documented default interval (docs/deploy.md), written out, not imported.
SIX_HOURS = 6 * 3600


@pytest.fixture
def runtime(engine: Engine) -> Iterator[WorkerRuntime]:
    opened = WorkerRuntime(engine, SecretBox.from_key(generate_key()))
    yield opened
    opened.close(dispose_engine=False)  # the engine is shared by the module


def _integration(
    engine: Engine,
    name: str,
    interval: int | None,
    ago: float | None,
    *,
    keyed: bool = True,
) -> int:
    with Session(engine) as session, session.begin():
        iid = create_integration(session, name, "global").id
        set_sync_interval(session, iid, interval)
        if keyed:
            add_service_account(
                session,
                iid,
                label="main",
                kind=KeyKind.FULL,
                scopes=[],
                capabilities=[],
                missing={},
                key_id=f"{iid:0>22}",
                encrypted_secret="not read by the scheduler",
                status=KeyStatus.OK,
            )
        if ago is not None:
            run = start_sync_run(session, iid, "test", now=NOW)
            finish_sync_run(
                session,
                run,
                outcome=Outcome.OK,
                capabilities={},
                requests=0,
                retries=0,
                rate_limit_waits=0,
                errors=[],
                now=NOW - dt.timedelta(seconds=ago),
            )
    return iid


def test_due_follows_each_interval(engine: Engine, runtime: WorkerRuntime) -> None:
    before = {iid for iid, _ in runtime.due(NOW)}
    never = _integration(engine, "d never", None, None)
    fresh = _integration(engine, "d fresh", None, SIX_HOURS - 60)
    stale = _integration(engine, "d stale", None, SIX_HOURS + 60)
    short = _integration(engine, "d short", 60, 120)
    long_ = _integration(engine, "d long", 86_400, 7_200)
    keyless = _integration(engine, "d keyless", None, None, keyed=False)
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
    iid = _integration(engine, "d done", 60, 30)
    # The dispatcher saw it never synced; a sync finished since: skip.
    outcome = runtime.sync(iid, NEVER_SYNCED, lock_timeout_s=0.0)
    assert isinstance(outcome, Skipped)
    assert outcome.last_sync_at is not None
    synced_at = outcome.last_sync_at.replace(tzinfo=dt.UTC)
    assert synced_at == NOW - dt.timedelta(seconds=30)


def test_an_unknown_integration_is_refused(runtime: WorkerRuntime) -> None:
    with pytest.raises(RecordNotFoundError):
        runtime.sync(987_654, None, lock_timeout_s=0.0)
