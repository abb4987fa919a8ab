"""Celery scale-out benchmark: 2 workers against 1 at equal per-worker concurrency.

    python benchmarks/worker_bench.py [--accounts 200] [--concurrency 8] [--json]
        [--repeats 1] [--postgres-url URL]

The world and the simulator processes are those of sync_bench.py (1,000
teammates an account, 50 ± 10 ms, 600 requests/min per key and endpoint).
Each run gets a fresh PostgreSQL database (created next to --postgres-url,
dropped afterwards) and a throwaway redis-server, connects every account
(not measured), starts N `smp worker --concurrency C` processes, enqueues
one full sync per integration and measures the time from the first enqueue
to the last finished sync run (from the database's own timestamps).
Throughput = integrations / that time; the ratio is 2 workers ÷ 1 worker.
Everything, PostgreSQL included, shares this machine's cores. Two runs of the
same code can differ by a quarter here, so `--repeats N` measures 1 worker
and 2 workers N times over (every other pair in the other order) and reports
the median of each and each pair's ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _world import bench_world, cpu_s, start_simulators
from sqlalchemy import create_engine, text
from sync_bench import connect_all

from smp.simulator import World
from smp.storage import generate_key

# The throwaway database and redis-server of the worker tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.outage import RedisServer, scratch_database

SMP = str(Path(sys.executable).with_name("smp"))
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def run_workers(
    world: World, servers: list[Any], args: argparse.Namespace, workers: int
) -> dict[str, float]:
    with (
        tempfile.TemporaryDirectory(prefix="smp-wbench-") as tmp,
        scratch_database(args.postgres_url) as database,
    ):
        redis = RedisServer(Path(tmp) / "redis")
        redis.start()
        broker = redis.url
        home = Path(tmp) / "home"
        home.mkdir()
        env = {
            **os.environ,
            "SMP_HOME": str(home),
            "SMP_SECRET_KEY": generate_key(),
            "SMP_DATABASE_URL": database,
            "SMP_BROKER_URL": broker,
            "SMP_CELERY_QUEUE": "bench",
            "NO_COLOR": "1",
        }
        asyncio.run(connect_all(world, servers, env))
        processes = []
        try:
            for index in range(workers):
                log = (Path(tmp) / f"worker{index}.log").open("wb")
                processes.append(
                    subprocess.Popen(
                        [
                            SMP,
                            "worker",
                            f"--concurrency={args.concurrency}",
                            f"--hostname=w{index}@bench",
                        ],
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
            _wait_ready(Path(tmp), workers)
            return _measure(database, broker, len(world.accounts), processes)
        finally:
            for process in processes:
                process.kill()
                process.wait()
            redis.kill()


def _wait_ready(directory: Path, workers: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        logs = [(directory / f"worker{i}.log").read_text() for i in range(workers)]
        if all(" ready." in log for log in logs):
            return
        if time.monotonic() > deadline:
            raise SystemExit("workers did not start:\n" + "\n".join(logs))
        time.sleep(0.2)


def _measure(
    database: str, broker: str, accounts: int, processes: list[Any]
) -> dict[str, float]:
    from celery import Celery

    producer = Celery("smp-bench", broker=broker)
    producer.conf.task_default_queue = "bench"
    engine = create_engine(database)
    with engine.connect() as connection:
        ids = [r[0] for r in connection.execute(text("SELECT id FROM integrations"))]
    assert len(ids) == accounts, (len(ids), accounts)
    started = dt.datetime.now(dt.UTC)
    for iid in ids:
        producer.send_task("smp.sync_integration", args=(iid, "never"), queue="bench")
    cpu_before = [cpu_s(p.pid) for p in processes]
    while True:
        with engine.connect() as connection:
            done, last = connection.execute(
                text(
                    "SELECT count(*), max(finished_at) FROM sync_runs "
                    "WHERE finished_at IS NOT NULL"
                )
            ).one()
        if done >= accounts:
            break
        if any(p.poll() is not None for p in processes):
            raise SystemExit("a worker died")
        time.sleep(0.2)
    cpu = sum(cpu_s(p.pid) for p in processes) - sum(cpu_before)
    with engine.connect() as connection:
        outcomes: dict[str, int] = dict(
            connection.execute(
                text("SELECT outcome, count(*) FROM sync_runs GROUP BY outcome")
            ).all()
        )
    engine.dispose()
    seconds = (last.replace(tzinfo=dt.UTC) - started).total_seconds()
    return {
        "seconds": round(seconds, 2),
        "throughput": round(accounts / seconds, 2),
        "worker_cpu_s": round(cpu, 1),
        "ok": outcomes.get("ok", 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--json", action="store_true", help="Only the JSON line.")
    args = parser.parse_args()
    world = bench_world(args.accounts)
    servers = start_simulators(2, args.accounts)
    pairs: list[tuple[dict[str, float], dict[str, float]]] = []
    try:
        for index in range(max(1, args.repeats)):
            # Every other pair starts with 2 workers: a run's first setup
            # tends to be its slowest.
            order = (1, 2) if index % 2 == 0 else (2, 1)
            rows = {n: run_workers(world, servers, args, n) for n in order}
            pairs.append((rows[1], rows[2]))
    finally:
        for server in servers:
            server.stop()
    report(args, pairs)


def report(
    args: argparse.Namespace, pairs: list[tuple[dict[str, float], dict[str, float]]]
) -> None:
    one_s = statistics.median(one["seconds"] for one, _ in pairs)
    two_s = statistics.median(two["seconds"] for _, two in pairs)
    ratio = one_s / two_s  # throughputs are accounts ÷ seconds
    pair_ratios = [round(one["seconds"] / two["seconds"], 2) for one, two in pairs]
    if not args.json:
        print(f"{args.accounts} integrations, --concurrency {args.concurrency} each")
        print(f"{'':10} {'seconds':>8} {'syncs/s':>8} {'worker CPU s':>13} {'ok':>5}")
        for index, (one, two) in enumerate(pairs, 1):
            for name, row in (("1 worker", one), ("2 workers", two)):
                print(
                    f"{name:10} {row['seconds']:8.2f} {row['throughput']:8.2f} "
                    f"{row['worker_cpu_s']:13.1f} {row['ok']:5d}"
                    + (f"   run {index}" if len(pairs) > 1 else "")
                )
        spread = f" (medians; each run's: {pair_ratios})" if len(pairs) > 1 else ""
        print(
            f"2 workers ÷ 1 worker: {ratio:.2f}× throughput{spread}; "
            f"cores: {os.cpu_count()}"
        )
    print(
        json.dumps(
            {
                "accounts": args.accounts,
                "concurrency": args.concurrency,
                "one_worker_s": round(one_s, 2),
                "two_workers_s": round(two_s, 2),
                "one_worker_syncs_per_s": round(args.accounts / one_s, 2),
                "two_workers_syncs_per_s": round(args.accounts / two_s, 2),
                "ratio": round(ratio, 2),
                "pair_ratios": pair_ratios,
                "cpus": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()
