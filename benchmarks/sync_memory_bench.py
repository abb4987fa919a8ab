"""Peak memory of one `smp sync --all` over 100 accounts × 1,000 teammates.

    python benchmarks/sync_memory_bench.py [--accounts 100] [--json]

The real CLI runs as a subprocess against simulator processes (no latency,
no rate limit: memory, not time, is measured here); its peak RSS comes from
`wait4`, i.e. the kernel's high-water mark of that process. Target ≤ 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path

from _world import bench_world, start_simulators
from sync_bench import _env, connect_all, smp_sync_all

from smp.storage import generate_key

TARGET_MB = 300.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    world = bench_world(args.accounts)
    servers = start_simulators(2, args.accounts, latency=False, rate_limit=False)
    try:
        with tempfile.TemporaryDirectory(prefix="smp-membench-") as tmp:
            home = Path(tmp) / "home"
            home.mkdir()
            env = _env(home, generate_key(), args.database_url)
            asyncio.run(connect_all(world, servers, env))
            run = smp_sync_all(env, servers)
    finally:
        for server in servers:
            server.stop()
    members = sum(len(a.teammates) + len(a.pending) for a in world.accounts)
    result = {
        "benchmark": "sync_all_memory",
        "accounts": args.accounts,
        "members": members,
        "requests": run.requests,
        "seconds": round(run.seconds, 2),
        "peak_rss_mb": round(run.peak_rss_mb, 1),
        "target_mb": TARGET_MB,
        "outcomes": dict(run.outcomes),
    }
    if not args.json:
        verdict = "within" if run.peak_rss_mb <= TARGET_MB else "OVER"
        print(
            f"smp sync --all: {args.accounts} accounts, {members} members, "
            f"{run.requests} requests in {run.seconds:.1f} s; peak RSS "
            f"{run.peak_rss_mb:.0f} MB ({verdict} the {TARGET_MB:.0f} MB target)"
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
