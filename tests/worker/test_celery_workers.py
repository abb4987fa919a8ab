"""Celery workers against the real Redis and PostgreSQL, syncing from the simulator.

Ground truth is the simulator's world (tests/support/truth.py); the sync
runs table says how often each integration was synced.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from tests.support.databases import postgres_schema
from tests.support.simulator import serve_simulator
from tests.support.truth import expected, integrity_problems, row_counts, stored
from tests.worker.cluster import Cluster, connect_accounts, wait_for

from smp.runtime.worker import NEVER_SYNCED
from smp.simulator import FaultRule, Simulator, World, generate_world
from smp.storage import (
    generate_key,
    list_sync_runs,
    make_engine,
    migrate,
)
from smp.storage.runs import INTERRUPTED

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.loopback]

ACCOUNTS = 50
SYNCED = re.compile(r"integration (\d+) synced: run")
SKIPPED = re.compile(r"integration (\d+) already synced")


class Setup:
    def __init__(
        self, world: World, sim: Simulator, engine: Engine, url: str, master: str
    ) -> None:
        self.world, self.sim, self.engine = world, sim, engine
        self.url, self.master = url, master
        self.integrations: dict[int, str] = {}  # id -> account username


@pytest.fixture(scope="module")
def setup(
    postgres_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Setup]:
    world = generate_world(
        seed=31, accounts=ACCOUNTS, teammates=20, pending=3, subusers=3, invoices=3
    )
    sim = Simulator(world, rate_limit=None)
    master = generate_key()
    with postgres_schema(postgres_url, "smp_worker") as database:
        engine = make_engine(database)
        # Disposed however setup ends: a failure must not leave pooled
        # connections for the garbage collector to warn about later.
        try:
            migrate(engine)
            with serve_simulator(sim) as base_url:
                ready = Setup(world, sim, engine, database, master)
                ready.integrations = asyncio.run(
                    connect_accounts(engine, master, world, base_url)
                )
                yield ready
        finally:
            engine.dispose()


@pytest.fixture
def cluster(setup: Setup, redis_url: str, tmp_path: Path) -> Iterator[Cluster]:
    opened = Cluster(redis_url, setup.url, setup.master, dict(os.environ), tmp_path)
    try:
        yield opened
    finally:
        opened.close()


def _finished_runs(engine: Engine) -> Counter[int]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT integration_id FROM sync_runs WHERE finished_at IS NOT NULL")
        ).all()
    return Counter(row[0] for row in rows)


def _account(setup: Setup, username: str) -> object:
    return next(a for a in setup.world.accounts if a.username == username)


def test_two_workers_sync_50_integrations_once_each(
    setup: Setup, cluster: Cluster
) -> None:
    first = cluster.start_worker("one")
    second = cluster.start_worker("two")
    unknown = max(setup.integrations) + 1000
    for iid in setup.integrations:
        # Every integration is dispatched twice, as a scheduler racing with
        # itself would: the second message must find the sync done.
        cluster.enqueue(iid, NEVER_SYNCED)
        cluster.enqueue(iid, NEVER_SYNCED)
    cluster.enqueue(unknown)
    logs = lambda: first.text() + second.text()  # noqa: E731
    wait_for(
        lambda: (
            len(SYNCED.findall(logs())) + len(SKIPPED.findall(logs())) >= 2 * ACCOUNTS
            and "dropping the sync of integration" in logs()
        ),
        60,
        "all syncs and the poisoned task",
    )
    time.sleep(1.0)  # anything left over would show up now
    text_one, text_two = first.text(), second.text()
    synced = [int(i) for i in SYNCED.findall(text_one + text_two)]
    assert sorted(synced) == sorted(setup.integrations)  # all, none twice
    assert len(SKIPPED.findall(text_one + text_two)) == ACCOUNTS
    assert SYNCED.search(text_one)  # both workers took a share
    assert SYNCED.search(text_two)
    assert _finished_runs(setup.engine) == dict.fromkeys(setup.integrations, 1)
    for iid, username in setup.integrations.items():
        truth = expected(_account(setup, username))  # type: ignore[arg-type]
        assert stored(setup.engine, iid) == truth, username
        counts = row_counts(setup.engine, iid)
        assert counts["members"] == len(truth["members"]) + len(truth["invites"])
        assert counts["invoices"] == len(truth["invoices"])
    assert integrity_problems(setup.engine) == []
    assert "Traceback" not in text_one + text_two
    dropped = f"dropping the sync of integration {unknown}: no integration {unknown}"
    assert (text_one + text_two).count(dropped) == 1  # once, not retried


def test_a_worker_killed_mid_sync_is_redelivered_and_completes(
    setup: Setup, cluster: Cluster
) -> None:
    username = setup.world.accounts[1].username
    iid = next(i for i, name in setup.integrations.items() if name == username)
    runs_before = _finished_runs(setup.engine)[iid]
    # Slow answers so that the kill lands in the middle of the sync.
    setup.sim.add_fault(FaultRule(kind="latency", latency_ms=150))
    try:
        doomed = cluster.start_worker("doomed", SMP_CELERY_VISIBILITY_TIMEOUT_S="600")
        seen = len(setup.sim.requests)
        cluster.enqueue(iid)
        wait_for(
            lambda: len(setup.sim.requests) >= seen + 6, 30, "the sync to start", doomed
        )
        doomed.kill()
    finally:
        setup.sim.clear_faults()
    with Session(setup.engine) as session:
        killed_run = list_sync_runs(session, iid, limit=1)[0]
    assert killed_run.finished_at is None  # it really died mid-sync
    # A short visibility timeout: the unacknowledged message comes back soon.
    rescuer = cluster.start_worker("rescuer", SMP_CELERY_VISIBILITY_TIMEOUT_S="2")
    wait_for(
        lambda: SYNCED.search(rescuer.text()) is not None,
        40,
        "the redelivered sync",
        rescuer,
    )
    time.sleep(3.0)  # a second redelivery would show up now
    assert [int(i) for i in SYNCED.findall(rescuer.text())] == [iid]
    with Session(setup.engine) as session:
        runs = list_sync_runs(session, iid, limit=10)
    assert len(runs) == runs_before + 2
    newest, killed = runs[0], runs[1]
    assert killed.id == killed_run.id
    assert list(killed.errors) == [INTERRUPTED]
    assert newest.outcome.value == "ok"
    truth = expected(_account(setup, username))  # type: ignore[arg-type]
    assert stored(setup.engine, iid) == truth
    counts = row_counts(setup.engine, iid)
    assert counts["members"] == len(truth["members"]) + len(truth["invites"])
    assert counts["invoices"] == len(truth["invoices"])
    assert integrity_problems(setup.engine) == []
