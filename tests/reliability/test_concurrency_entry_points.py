"""Syncs of one integration from the CLI, the API and the scheduler take turns.

Real processes: `smp sync` (CLI), `POST /api/v1/sync-runs` on one `smp serve`
and the scheduler of a second `smp serve` (its first tick finds the
integration never synced), all on one database. The test holds the
integration's lock while all three start, so they are truly simultaneous:
none may reach SendGrid or record a run until it is released. Then the three
run one after another (disjoint runs in `sync_runs`), each completes, and the
database holds exactly the simulator's world, without duplicate rows.
"""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import time
from pathlib import Path

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tests.reliability.soak import base_world
from tests.support.app import make_users
from tests.support.figures import record
from tests.support.serving import SMP, SmpHome, stop
from tests.support.simulator import CONFIRMED_BY, new_key, serve_simulator
from tests.support.truth import expected, integrity_problems, row_counts, stored

from smp.model import SyncRun
from smp.services.onboarding import connect
from smp.simulator import FaultRule, Simulator
from smp.storage import (
    SecretBox,
    integration_lock,
    list_sync_runs,
)
from smp.sync import SyncContext

NAME = "Entry points"
HOLD_S = 2.5  # long enough for every contender to be waiting on the lock


def _syncing(client: httpx.Client, iid: int) -> bool:
    answer = client.get(f"/api/v1/integrations/{iid}")
    return bool(answer.json()["syncing"])


def test_cli_api_and_scheduler_syncs_run_one_after_another(
    database: str, migrated: Engine, tmp_path: Path
) -> None:
    world = base_world(accounts=1)
    account = world.accounts[0]
    home = SmpHome(tmp_path / "home", database_url=database)
    home.folder.mkdir()
    engine = migrated
    token = make_users(engine)[2]
    sim = Simulator(world, rate_limit=None)
    sim.add_fault(FaultRule(kind="latency", latency_ms=10.0))
    with serve_simulator(sim) as sim_url:
        keys = [new_key(world, kind, account) for kind in ("full", "billing")]
        integration, _ = asyncio.run(
            connect(
                engine,
                SecretBox.from_key(home.master_key),
                NAME,
                keys,
                SyncContext(),
                base_url=sim_url,
                billing_confirmed_by=CONFIRMED_BY,
            )
        )
        iid = integration.id
        api_server = home.start("--no-scheduler", "--sendgrid-url", sim_url)
        scheduler_server = None
        cli = None
        try:
            with integration_lock(engine, iid):
                seen = len(sim.requests)
                cli = subprocess.Popen(
                    [SMP, "sync", NAME, "--json"],
                    env=home.env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                )
                scheduler_server = home.start("--sendgrid-url", sim_url)
                headers = {"Authorization": f"Bearer {token}"}
                with api_server.client(headers=headers) as api:
                    started = api.post(
                        "/api/v1/sync-runs", json={"integration_id": iid}
                    )
                    assert started.status_code == 202, started.text
                    assert started.json()["started"] is True
                    assert _syncing(api, iid)
                with scheduler_server.client(headers=headers) as other:
                    assert _syncing(other, iid)  # the scheduler's sync is waiting
                time.sleep(HOLD_S)
                assert cli.poll() is None  # still waiting, not given up
                assert len(sim.requests) == seen  # nobody got past the lock
                with Session(engine) as session:
                    assert list_sync_runs(session, iid, limit=10) == []
            _, err = cli.communicate(timeout=120)
            assert cli.returncode == 0, err.decode()
            runs = _wait_for_runs(engine, iid, 3)
        finally:
            if cli is not None and cli.poll() is None:
                cli.kill()
            stop(api_server)
            if scheduler_server is not None:
                stop(scheduler_server)
    assert sorted(r.trigger for r in runs) == ["api", "cli", "schedule"]
    assert [r.outcome.value if r.outcome else None for r in runs] == ["ok"] * 3
    ordered = sorted(runs, key=lambda r: r.started_at)
    for earlier, later in itertools.pairwise(ordered):
        assert earlier.finished_at is not None
        assert later.started_at >= earlier.finished_at, (earlier, later)
    assert stored(engine, iid) == expected(account)
    counts = row_counts(engine, iid)
    assert counts["members"] == len(account.teammates) + len(account.pending)
    assert counts["subusers"] == len(account.subusers)
    assert counts["invoices"] == len(account.invoices)
    assert integrity_problems(engine) == []
    record(
        "concurrency_entry_points",
        {
            "database": database.split(":")[0],
            "syncs": len(runs),
            "order": [r.trigger for r in ordered],
        },
    )


def _wait_for_runs(engine: Engine, iid: int, count: int) -> list[SyncRun]:
    deadline = time.monotonic() + 60
    while True:
        with Session(engine) as session:
            runs = list_sync_runs(session, iid, limit=10)
        if len(runs) >= count and all(r.finished_at for r in runs):
            return runs
        assert time.monotonic() < deadline, runs
        time.sleep(0.1)
