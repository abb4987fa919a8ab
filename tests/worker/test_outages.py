"""The broker or the database goes away while a worker syncs: no sync is lost
or doubled, the worker says what happens, and it carries on once they are
back. A throwaway redis-server and a throwaway database are taken away; the
machine's shared Redis and PostgreSQL are never touched."""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from tests.support.outage import (
    RedisServer,
    cut_database,
    restore_database,
    scratch_database,
)
from tests.support.simulator import serve_simulator
from tests.support.truth import expected, integrity_problems, stored
from tests.worker.cluster import Cluster, Worker, connect_accounts, wait_for

from smp.runtime.worker import NEVER_SYNCED
from smp.simulator import FaultRule, Simulator, World, generate_world
from smp.storage import generate_key, make_engine, migrate

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.loopback]

ACCOUNTS = 8
SYNCED = re.compile(r"integration (\d+) synced: run")


@dataclass
class Scene:
    world: World
    engine: Engine
    url: str
    master: str
    integrations: dict[int, str]

    def ok_runs(self) -> Counter[int]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                text("SELECT integration_id FROM sync_runs WHERE outcome = 'ok'")
            ).all()
        return Counter(row[0] for row in rows)

    def all_synced_once(self) -> bool:
        try:
            return self.ok_runs() == dict.fromkeys(self.integrations, 1)
        except Exception:
            return False  # the database is still away

    def assert_truth(self) -> None:
        for iid, username in self.integrations.items():
            account = self.world.account(username)
            assert stored(self.engine, iid) == expected(account), username
        assert integrity_problems(self.engine) == []


@pytest.fixture
def scene(postgres_url: str) -> Iterator[Scene]:
    world = generate_world(
        seed=41, accounts=ACCOUNTS, teammates=20, pending=3, subusers=3, invoices=3
    )
    sim = Simulator(world, rate_limit=None)
    with scratch_database(postgres_url) as url, serve_simulator(sim) as base_url:
        engine = make_engine(url)
        # Disposed however the scene ends: a failure must not leave pooled
        # connections for the garbage collector to warn about later.
        try:
            migrate(engine)
            master = generate_key()
            integrations = asyncio.run(
                connect_accounts(engine, master, world, base_url)
            )
            # Slow answers: a sync lasts about a second, so the outage lands
            # mid-run.
            sim.add_fault(FaultRule(kind="latency", latency_ms=120))
            yield Scene(world, engine, url, master, integrations)
        finally:
            engine.dispose()


def _start(cluster: Cluster, scene: Scene, name: str, **env: str) -> Worker:
    worker = cluster.start_worker(name, concurrency=2, **env)
    for iid in scene.integrations:
        cluster.enqueue(iid, NEVER_SYNCED)
    wait_for(lambda: SYNCED.search(worker.text()) is not None, 30, "a sync", worker)
    return worker


def test_a_broker_that_goes_away_mid_run_loses_no_sync(
    scene: Scene, tmp_path: Path
) -> None:
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    cluster = Cluster(redis.url, scene.url, scene.master, dict(os.environ), tmp_path)
    try:
        # Messages whose acknowledgement was lost come back after 3 s.
        worker = _start(
            cluster, scene, "brokerless", SMP_CELERY_VISIBILITY_TIMEOUT_S="3"
        )
        synced_before = len(SYNCED.findall(worker.text()))
        assert synced_before < ACCOUNTS  # the rest is queued or running
        redis.kill()
        wait_for(
            lambda: "Connection to broker lost" in worker.text(), 20, "the loss", worker
        )
        time.sleep(2.0)
        redis.start()  # same port, same AOF: the queued messages are back
        wait_for(scene.all_synced_once, 90, "every sync after the broker came back")
        time.sleep(6.0)  # redelivered messages would sync twice now
        log = worker.text()
        alive = worker.process.poll() is None
    finally:
        for running in cluster.workers:
            running.kill()
        redis.kill()  # its data goes with tmp_path
    assert scene.ok_runs() == dict.fromkeys(scene.integrations, 1)
    scene.assert_truth()
    address = rf"redis://(:\*\*@)?127\.0\.0\.1:{redis.port}/0"
    assert re.search(rf"Cannot connect to {address}[^\n]*\nTrying again", log), log
    assert re.search(rf"Connected to {address}", log.split("broker lost", 1)[1])
    assert alive  # it rode it out


def test_a_database_that_goes_away_mid_run_loses_no_sync(
    scene: Scene, redis_url: str, tmp_path: Path
) -> None:
    name = make_url(scene.url).database
    assert name
    cluster = Cluster(redis_url, scene.url, scene.master, dict(os.environ), tmp_path)
    unknown = max(scene.integrations) + 1000
    admin = create_engine(
        make_url(scene.url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    try:
        worker = _start(cluster, scene, "dbless")
        cluster.enqueue(unknown)
        assert cut_database(admin, name) > 0
        time.sleep(4.0)
        restore_database(admin, name)
        wait_for(
            scene.all_synced_once, 90, "every sync after the database came back", worker
        )
        time.sleep(2.0)
        log = worker.text()
    finally:
        try:
            restore_database(admin, name)
        finally:
            admin.dispose()
            cluster.close()
    assert scene.ok_runs() == dict.fromkeys(scene.integrations, 1)
    scene.assert_truth()
    retried = re.findall(
        r"database unavailable for integration (\d+)[^\n]*; retrying in \d+ s", log
    )
    assert retried, log
    # The poisoned task may meet the outage too: retried like any, then dropped.
    assert set(scene.integrations) & {int(i) for i in retried}
    assert {int(i) for i in retried} <= {*scene.integrations, unknown}
    dropped = f"dropping the sync of integration {unknown}: no integration {unknown}"
    assert log.count(dropped) == 1  # once, not retried
    assert "Traceback" not in log  # expected trouble, said in one line each
