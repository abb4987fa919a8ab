"""Sync benchmark: SMP's full and incremental sync against a sequential SDK script.

    python benchmarks/sync_bench.py [--accounts 200] [--json]
        [--baseline-accounts 20] [--simulators 2] [--database-url URL]

World and simulator: benchmarks/_world.py (1,000 teammates, 20 invites, 10
subusers, 24 months, 24 invoices, a full and a billing key per account;
50 ms ± 10 ms latency; 600 requests per minute per key and endpoint), served
by simulator processes of their own.

Measured:
(a) `smp sync --all --json` as a subprocess: wall time, requests, peak RSS;
(b) the same again (incremental): the same figures;
(c) the baseline, benchmarks/baseline_sdk.py, sequential, official SDK. Being
    sequential its time is linear in the accounts, so by default it runs on
    `--baseline-accounts` of them and is scaled up (said so in the output);
    `--baseline-accounts 0` runs it on all;
(d) the lower bound, printed with its formula;
(e) the CPU of the full sync, smp's and the simulators', and that CPU ÷ the
    cores: no run can be shorter on this machine, as they share its cores.
Then a table and one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _world import (
    INVOICES,
    JITTER_MS,
    KINDS,
    LATENCY_MS,
    MONTHS,
    RATE_LIMIT,
    RATE_WINDOW_S,
    SUBUSERS,
    TEAMMATES,
    SimServer,
    bench_world,
    start_simulators,
    template,
    wait_and_measure,
)

from smp.model.api_keys import DEFAULT_SCOPE_BUDGET_SHARE, scope_budget
from smp.services.key_rules import Slot
from smp.services.onboarding import NewKey, connect
from smp.simulator import World
from smp.storage import SecretBox, generate_key, make_engine, migrate
from smp.sync import SyncContext

SLOTS = {"full": Slot.ACCESS, "billing": Slot.BILLING}

HERE = Path(__file__).resolve().parent
SMP = str(Path(sys.executable).with_name("smp"))
KEYS_PER_ACCOUNT = len(KINDS)


def teammate_scope_budget() -> int:
    """B of docs/sync.md: the simulators send their limit, SMP takes its share."""
    return scope_budget(RATE_LIMIT, DEFAULT_SCOPE_BUDGET_SHARE)


def min_requests_per_account() -> int:
    """docs/sync.md's formula for one benchmark account (M = 24 months).

    Its API keys are the account's own (A = the benchmark's two kinds), and on
    a first sync every teammate is new: min(T, B) teammate-scope reads.
    """
    t, s, i, m, k = TEAMMATES, SUBUSERS, INVOICES, MONTHS, KEYS_PER_ACCOUNT
    stats_pages = m // 500 + 1
    api_keys = 1 + KEYS_PER_ACCOUNT
    return (
        k + 2 + (t // 500 + 1) + 1 + (s // 500 + 1) + s + 1 + stats_pages
        + -(-s // 10) * stats_pages + (i // 100 + 1)
        + api_keys + min(t, teammate_scope_budget())
        # SSO: the listing and each integration's certificates; the IP
        # allowlist; access activity (no validation key here).
        + 1 + len(template()[1].sso_integrations) + 1 + 1
    )  # fmt: skip


def longest_chain() -> int:
    """Requests that must follow one another for one account.

    The scopes decide which key reads what, so they come first; then the
    teammates listing, whose pages follow one another (offset paging that
    ends on a short page), then the teammates' scopes it names. Every other
    chain is no longer: subusers → stats → credits (4, see docs/sync.md),
    api_keys → each key (2), invoices (2), identity (2).
    """
    return 1 + (TEAMMATES // 500 + 1) + 1


def rate_limit_bound_s() -> float:
    """Full windows a key must wait for on its busiest endpoint."""
    # subusers/{name}/credits or teammates/{username}, the busiest per key
    per_endpoint = max(SUBUSERS, min(TEAMMATES, teammate_scope_budget()))
    return (-(-per_endpoint // RATE_LIMIT) - 1) * RATE_WINDOW_S


@dataclass
class Run:
    seconds: float
    requests: int
    simulator_requests: int
    peak_rss_mb: float
    outcomes: Counter[str]
    smp_cpu_s: float  # the smp process and its writer process
    simulator_cpu_s: float


def _env(home: Path, master: str, database_url: str | None) -> dict[str, str]:
    env = {**os.environ, "SMP_HOME": str(home), "SMP_SECRET_KEY": master}
    env["NO_COLOR"] = "1"
    if database_url:
        env["SMP_DATABASE_URL"] = database_url
    return env


async def connect_all(
    world: World, servers: list[SimServer], env: dict[str, str]
) -> list[dict[str, str]]:
    """Connect every account (setup, not measured); return the raw keys."""
    engine = make_engine(
        env.get("SMP_DATABASE_URL") or f"sqlite:///{env['SMP_HOME']}/smp.db"
    )
    migrate(engine)
    box = SecretBox.from_key(env["SMP_SECRET_KEY"])
    context = SyncContext()
    gate = asyncio.Semaphore(32)
    keys: list[dict[str, str]] = []

    async def one(index: int) -> None:
        account = world.accounts[index]
        raw: dict[str, str] = {
            k.kind: k.key for k in world.keys if k.account == account.username
        }
        base_url = servers[index % len(servers)].base_url
        keys.append({"base_url": base_url, **raw})
        async with gate:
            await connect(
                engine,
                box,
                account.username,
                [NewKey(kind, raw[kind], SLOTS[kind]) for kind in KINDS],
                context,
                base_url=base_url,
                # Each clone's keys are its own: the benchmark vouches for them.
                billing_confirmed_by="sync_bench",
            )

    await asyncio.gather(*(one(i) for i in range(len(world.accounts))))
    engine.dispose()
    return keys


def smp_sync_all(env: dict[str, str], servers: list[SimServer]) -> Run:
    for server in servers:
        server.clear()
    simulator_cpu = sum(server.cpu_s() for server in servers)
    started = time.perf_counter()
    process = subprocess.Popen(
        [SMP, "sync", "--all", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # Read the pipes in threads so that wait4 can reap the child itself.
    out: list[bytes] = []
    err: list[bytes] = []
    readers = [_drain(process.stdout, out), _drain(process.stderr, err)]
    finished = wait_and_measure(process)
    seconds = time.perf_counter() - started
    simulator_cpu = sum(server.cpu_s() for server in servers) - simulator_cpu
    for reader in readers:
        reader.join()
    if finished.code != 0:
        failure = b"".join(err).decode()
        raise SystemExit(f"smp sync --all failed ({finished.code}): {failure}")
    runs = json.loads(b"".join(out))["runs"]
    served = sum(
        1
        for server in servers
        for request in server.requests()
        if str(request["path"]).startswith("/v3/")
    )
    return Run(
        seconds,
        sum(r["requests"] for r in runs),
        served,
        finished.peak_rss_mb,
        Counter(r["outcome"] for r in runs),
        finished.cpu_s,
        simulator_cpu,
    )


def _drain(stream: Any, sink: list[bytes]) -> Any:
    import threading

    thread = threading.Thread(target=lambda: sink.append(stream.read()), daemon=True)
    thread.start()
    return thread


def baseline(
    keys: list[dict[str, str]], sample: int, directory: Path
) -> tuple[float, int, int]:
    """(seconds for all accounts, requests measured, accounts measured)."""
    chosen = keys if sample <= 0 else keys[:sample]
    path = directory / "baseline-keys.json"
    path.touch(mode=0o600)
    path.write_text(json.dumps(chosen), encoding="utf-8")
    answer = subprocess.run(
        [sys.executable, str(HERE / "baseline_sdk.py"), str(path), "--json"],
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(answer.stdout)
    scale = len(keys) / len(chosen)
    return result["seconds"] * scale, result["requests"], len(chosen)


def _quiet(*_: object) -> None:
    """--json: only the JSON line."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--json", action="store_true", help="Only the JSON line.")
    parser.add_argument("--baseline-accounts", type=int, default=20)
    parser.add_argument("--simulators", type=int, default=2)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    say = _quiet if args.json else print

    world = bench_world(args.accounts)
    servers = start_simulators(args.simulators, args.accounts)
    try:
        with tempfile.TemporaryDirectory(prefix="smp-bench-") as tmp:
            directory = Path(tmp)
            env = _env(directory / "home", generate_key(), args.database_url)
            (directory / "home").mkdir()
            say(f"connecting {args.accounts} accounts …")
            keys = asyncio.run(connect_all(world, servers, env))
            say("full sync …")
            full = smp_sync_all(env, servers)
            say("incremental sync …")
            incremental = smp_sync_all(env, servers)
            say(f"baseline on {args.baseline_accounts or args.accounts} accounts …")
            baseline_s, baseline_requests, measured = baseline(
                keys, args.baseline_accounts, directory
            )
    finally:
        for server in servers:
            server.stop()
    report(args, full, incremental, baseline_s, baseline_requests, measured, say)


def report(
    args: argparse.Namespace,
    full: Run,
    incremental: Run,
    baseline_s: float,
    baseline_requests: int,
    measured: int,
    say: Any,
) -> None:
    accounts = args.accounts
    min_requests = min_requests_per_account() * accounts
    in_flight = SyncContext().limiter.global_limit
    latency_s = LATENCY_MS / 1000
    chain_s = longest_chain() * latency_s
    volume_s = min_requests * latency_s / in_flight
    limit_s = rate_limit_bound_s()
    lower = max(chain_s, volume_s, limit_s)
    say(
        f"\nlower bound = max(chain {longest_chain()} × {LATENCY_MS:g} ms = "
        f"{chain_s:.2f} s, {min_requests} requests × {LATENCY_MS:g} ms ÷ "
        f"{in_flight} in flight = {volume_s:.2f} s, rate limits "
        f"({max(SUBUSERS, teammate_scope_budget())} ≤ {RATE_LIMIT}/"
        f"{RATE_WINDOW_S:g} s per key and endpoint) = "
        f"{limit_s:.2f} s) = {lower:.2f} s"
    )
    say(f"latency {LATENCY_MS:g} ± {JITTER_MS:g} ms; world: {accounts} accounts")
    rows = [
        ("full sync", full.seconds, full.requests, full.peak_rss_mb),
        ("incremental", incremental.seconds, incremental.requests,
         incremental.peak_rss_mb),
        (f"baseline (SDK){'' if measured == accounts else f', {measured} acc. scaled'}",
         baseline_s, baseline_requests * accounts // measured, None),
        ("lower bound", lower, min_requests, None),
    ]  # fmt: skip
    say(f"\n{'':34} {'seconds':>9} {'requests':>9} {'peak RSS MB':>12}")
    for name, seconds, requests, rss in rows:
        rss_text = f"{rss:12.0f}" if rss is not None else f"{'':12}"
        say(f"{name:34} {seconds:9.2f} {requests:9d} {rss_text}")
    # Every process shares this machine's cores: the CPU alone sets a floor.
    cores = os.cpu_count() or 1
    cpu_floor_s = (full.smp_cpu_s + full.simulator_cpu_s) / cores
    say(
        f"CPU of the full sync: smp {full.smp_cpu_s:.1f} s (main and writer "
        f"process), simulators {full.simulator_cpu_s:.1f} s; ÷ {cores} cores = "
        f"{cpu_floor_s:.1f} s at the least on this machine"
    )
    say(
        f"\nfull: {baseline_s / full.seconds:.1f}× faster than the baseline, "
        f"{full.seconds / lower:.2f}× the lower bound; incremental uses "
        f"{100 * incremental.requests / full.requests:.0f} % of the requests; "
        f"simulators served {full.simulator_requests} + "
        f"{incremental.simulator_requests}; outcomes {dict(full.outcomes)}"
    )
    print(
        json.dumps(
            {
                "accounts": accounts,
                "requests": full.requests,
                "min_requests": min_requests,
                "full_sync_s": round(full.seconds, 2),
                "incremental_requests": incremental.requests,
                "incremental_s": round(incremental.seconds, 2),
                "baseline_s": round(baseline_s, 2),
                "lower_bound_s": round(lower, 2),
                "peak_rss_mb": round(max(full.peak_rss_mb, incremental.peak_rss_mb), 1),
                "baseline_accounts_measured": measured,
                "in_flight_limit": in_flight,
                "full_sync_cpu_s": round(full.smp_cpu_s, 1),
                "simulator_cpu_s": round(full.simulator_cpu_s, 1),
                "cpu_floor_s": round(cpu_floor_s, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
