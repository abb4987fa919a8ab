"""Shared helpers for the sync benchmarks: the world, simulator processes, RSS.

The benchmark world has A accounts, each with 1,000 teammates, 20 pending
invites, 10 subusers, 24 months of daily stats and 24 invoices, and one full
and one billing key. Generating 200 such accounts would take gigabytes, so
one paid account is generated and cloned: each clone has its own username,
user id and keys but shares the (read-only) lists of the template, which the
simulator never changes.

`python benchmarks/_world.py serve --accounts N --port P` serves that world in
its own process, with 50 ms ± 10 ms latency and 600 requests per minute per
key and endpoint by default.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from smp.simulator import FaultRule, Simulator, World, generate_world
from smp.simulator.world import Account, KeyKind, SimKey

# tests/support's free_port: the one copy the tests and benchmarks share.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.ports import free_port

SEED = 2026
TEAMMATES, PENDING, SUBUSERS, MONTHS, INVOICES = 1000, 20, 10, 24, 24
LATENCY_MS, JITTER_MS = 50.0, 10.0  # mean and ± spread
RATE_LIMIT, RATE_WINDOW_S = 600, 60.0
KINDS: tuple[KeyKind, ...] = ("full", "billing")


def template() -> tuple[World, Account]:
    world = generate_world(
        seed=SEED,
        accounts=1,
        teammates=TEAMMATES,
        pending=PENDING,
        subusers=SUBUSERS,
        months=MONTHS,
        invoices=INVOICES,
    )
    return world, world.accounts[0]


def _key_id(index: int, kind: str) -> str:
    digest = hashlib.sha256(f"{SEED}:{index}:{kind}".encode()).hexdigest()
    return f"b{index:06d}{kind[0]}{digest[:14]}"  # 22 characters


def bench_world(accounts: int) -> World:
    """A accounts cloned from one generated paid account (see the docstring)."""
    world, account = template()
    kinds = {k.kind: k for k in world.keys if k.account == account.username}
    clones: list[Account] = []
    keys: list[SimKey] = []
    for index in range(accounts):
        username = f"bench{index:04d}"
        clones.append(
            account.model_copy(
                update={
                    "username": username,
                    "user_id": 5_000_000 + index,
                    "email": f"owner@{username}.example",
                }
            )
        )
        for kind in KINDS:
            key_id = _key_id(index, kind)
            secret = hashlib.sha256(f"secret:{key_id}".encode()).hexdigest()[:43]
            keys.append(
                kinds[kind].model_copy(
                    update={
                        "account": username,
                        "key_id": key_id,
                        "key": f"SG.{key_id}.{secret}",
                        "name": f"{kind} {username}",
                    }
                )
            )
    # The seed too: a served world that lives on into a new day grows by the
    # figures of its own seed.
    return World(seed=world.seed, today=world.today, accounts=clones, keys=keys)


@dataclass
class SimServer:
    process: subprocess.Popen[bytes]
    base_url: str

    def requests(self) -> list[dict[str, object]]:
        with urllib.request.urlopen(f"{self.base_url}/_sim/requests") as answer:
            log: list[dict[str, object]] = json.load(answer)
        return log

    def clear(self) -> None:
        request = urllib.request.Request(
            f"{self.base_url}/_sim/requests", method="DELETE"
        )
        urllib.request.urlopen(request).close()

    def cpu_s(self) -> float:
        return cpu_s(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_simulators(
    count: int, accounts: int, *, latency: bool = True, rate_limit: bool = True
) -> list[SimServer]:
    """`count` simulator processes, each serving the whole benchmark world."""
    servers = []
    for _ in range(count):
        port = free_port()
        argv = [sys.executable, __file__, "serve", f"--accounts={accounts}"]
        argv += [f"--port={port}"]
        argv += [] if latency else ["--no-latency"]
        argv += [] if rate_limit else ["--no-rate-limit"]
        process = subprocess.Popen(argv, env={**os.environ, "PYTHONPATH": _root()})
        servers.append(SimServer(process, f"http://127.0.0.1:{port}"))
    for server in servers:
        deadline = time.monotonic() + 60
        while True:
            try:
                server.clear()
                break
            except OSError:
                if time.monotonic() > deadline or server.process.poll() is not None:
                    raise RuntimeError("a simulator did not start") from None
                time.sleep(0.1)
    return servers


def _root() -> str:
    return str(Path(__file__).resolve().parent.parent)


@dataclass(frozen=True)
class Finished:
    code: int
    peak_rss_mb: float
    cpu_s: float  # user + system, the child and the descendants it waited for


def wait_and_measure(process: subprocess.Popen[bytes]) -> Finished:
    """Wait for a child; its exit code, its peak RSS in MB and its CPU seconds.

    The peak is the larger of wait4's (the child, or its largest descendant)
    and the sampled sum over the child and its descendants (a writer process,
    say), read from /proc every 20 ms: both processes count. wait4's CPU
    times include the descendants the child reaped (its writer process).
    """
    peak_kb = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak_kb[0] = max(peak_kb[0], _tree_rss_kb(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    done.set()
    sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    peak_mb = max(usage.ru_maxrss, peak_kb[0]) / 1024.0  # Linux: kB
    return Finished(process.returncode, peak_mb, usage.ru_utime + usage.ru_stime)


def cpu_s(pid: int) -> float:
    """User + system seconds of a running process and its threads (/proc)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree_rss_kb(pid: int) -> int:
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            # Children are listed per thread that started them.
            for task in os.listdir(f"/proc/{current}/task"):
                path = f"/proc/{current}/task/{task}/children"
                with open(path, encoding="ascii") as children:
                    pending.extend(int(child) for child in children.read().split())
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue  # ended meanwhile
    return total


def serve(accounts: int, port: int, latency: bool, rate_limit: bool) -> None:
    import uvicorn

    world = bench_world(accounts)
    sim = Simulator(
        world,
        rate_limit=RATE_LIMIT if rate_limit else None,
        rate_window_s=RATE_WINDOW_S,
        max_log=1_000_000,
    )
    if latency:
        # Uniform in [mean - spread, mean + spread].
        sim.add_fault(
            FaultRule(
                kind="latency",
                latency_ms=LATENCY_MS - JITTER_MS,
                jitter_ms=2 * JITTER_MS,
            )
        )
    uvicorn.run(
        sim.app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        backlog=4096,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--no-latency", action="store_true")
    parser.add_argument("--no-rate-limit", action="store_true")
    args = parser.parse_args()
    serve(args.accounts, args.port, not args.no_latency, not args.no_rate_limit)


if __name__ == "__main__":
    main()
