"""Benchmark: the SendGrid client paging 100,000 teammates from the simulator.

`smp simulator serve` runs in a subprocess with 20 ms latency on every request
(the simulator's latency fault) and no rate limit. This process runs one
`SendGridClient` per account key, all at once (`asyncio.gather`), each paging
`/v3/teammates` 500 at a time, over loopback. Measured in this process only:
wall time, requests per second, and CPU time per request (`time.process_time()`
delta / requests), which includes HTTP, JSON parsing and validation.

Default world: 30 accounts, of which 20 are paid with 5,000 teammates each
(the generator puts every third account on the free plan with one teammate):
100,000 teammates, 200 full pages plus one empty page per key to end paging.

    .venv/bin/python benchmarks/client_bench.py [--json] [--rounds 3]

By default the consumer takes teammates one by one (`client.teammates()`, as
`smp sync` does) and the GC runs as in any process. `--pages` consumes whole
pages (`client.teammate_pages()`); `--gc-freeze` calls `gc.freeze()` after the
warm-up, as a long-running sync worker can after its imports (the objects that
exist then are never garbage, so full collections need not walk them).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from smp.sendgrid import ApiKey, ConcurrencyLimiter, SendGridClient
from smp.simulator import SimKey, generate_world

# tests/support's free_port: the one copy the tests and benchmarks share.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.ports import free_port

SEED = 42
CPU_TARGET_MS = 2.0


@dataclass(frozen=True)
class Round:
    seconds: float
    cpu_seconds: float
    requests: int
    teammates: int

    @property
    def req_per_s(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_seconds / self.requests


def _world_options(accounts: int, teammates: int) -> list[str]:
    return [
        "--seed", str(SEED), "--accounts", str(accounts),
        "--teammates", str(teammates), "--pending", "0", "--subusers", "0",
        "--months", "1", "--invoices", "0",
    ]  # fmt: skip


def _start_server(
    port: int, accounts: int, teammates: int, latency_ms: float
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    command = [
        sys.executable, "-m", "smp", "simulator", "serve", "--port", str(port),
        *_world_options(accounts, teammates),
        "--rate-limit", "0", "--latency-ms", str(latency_ms),
    ]  # fmt: skip
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)


def _wait_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the simulator exited early")
        try:
            httpx.get(base + "/_sim/faults", timeout=0.5)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("the simulator did not start")


async def _page_all(client: SendGridClient) -> int:
    count = 0
    async for _ in client.teammates(page_size=500):
        count += 1
    return count


async def _page_all_by_pages(client: SendGridClient) -> int:
    count = 0
    async for page in client.teammate_pages(page_size=500):
        count += len(page)
        del page  # not held while the next page is awaited (see pagination.py)
    return count


async def _round(base: str, keys: list[SimKey], pages: bool) -> Round:
    limiter = ConcurrencyLimiter()  # one per process, as the sync engine does
    clients = [
        SendGridClient(ApiKey.parse(k.key), base_url=base, limiter=limiter)
        for k in keys
    ]
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        consume = _page_all_by_pages if pages else _page_all
        counts = await asyncio.gather(*(consume(c) for c in clients))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        requests = sum(c.counters.requests for c in clients)
        retries = sum(c.counters.retries for c in clients)
    finally:
        for client in clients:
            await client.aclose()
    if retries:
        raise RuntimeError(f"{retries} retries: the run was not clean")
    return Round(wall, cpu, requests, sum(counts))


async def _run(
    base: str, keys: list[SimKey], rounds: int, *, pages: bool, gc_freeze: bool
) -> list[Round]:
    # One page first, so imports and pydantic's first-use costs are not counted.
    async with SendGridClient(ApiKey.parse(keys[0].key), base_url=base) as client:
        async for _ in client.teammates(page_size=500):
            break
    if gc_freeze:
        gc.collect()
        gc.freeze()
    return [await _round(base, keys, pages) for _ in range(rounds)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="only the JSON line")
    parser.add_argument("--accounts", type=int, default=30)
    parser.add_argument("--teammates", type=int, default=5000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pages", action="store_true", help="consume whole pages")
    parser.add_argument(
        "--gc-freeze", action="store_true", help="gc.freeze() after the warm-up"
    )
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = _start_server(port, args.accounts, args.teammates, args.latency_ms)
    try:
        # The same seed and options give the server's world: keys and truth.
        world = generate_world(
            SEED, accounts=args.accounts, teammates=args.teammates, pending=0,
            subusers=0, months=1, invoices=0,
        )  # fmt: skip
        paid = [a for a in world.accounts if len(a.teammates) > 1]
        keys = [
            next(k for k in world.keys if k.account == a.username and k.kind == "full")
            for a in paid
        ]
        expected = sum(len(a.teammates) for a in paid)
        # The world is millions of objects the client never touches; left in
        # the heap, every garbage collection would walk them on the client's CPU.
        del world, paid
        gc.collect()
        _wait_ready(base, server)
        rounds = asyncio.run(
            _run(base, keys, args.rounds, pages=args.pages, gc_freeze=args.gc_freeze)
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
    for result in rounds:
        if result.teammates != expected:
            raise RuntimeError(f"paged {result.teammates} teammates, not {expected}")
    best = min(rounds, key=lambda r: r.cpu_ms_per_request)
    figures = {
        "benchmark": "client_teammates_page500",
        "clients": len(keys),
        "teammates": expected,
        "requests": best.requests,
        "latency_ms": args.latency_ms,
        "consumer": "pages" if args.pages else "items",
        "gc_freeze": args.gc_freeze,
        "rounds": len(rounds),
        "wall_s": [round(r.seconds, 3) for r in rounds],
        "req_per_s": [round(r.req_per_s, 1) for r in rounds],
        "cpu_ms_per_request": [round(r.cpu_ms_per_request, 3) for r in rounds],
        "cpu_target_ms": CPU_TARGET_MS,
        "cpu_target_met": max(r.cpu_ms_per_request for r in rounds) <= CPU_TARGET_MS,
    }
    if not args.json:
        print(
            f"{len(keys)} clients x {args.teammates} teammates, pages of 500, "
            f"{args.latency_ms:g} ms latency, over loopback; "
            f"consumer: {'pages' if args.pages else 'items'}"
            f"{', gc.freeze()' if args.gc_freeze else ''}"
        )
        header = ("round", "wall s", "requests", "req/s", "CPU ms/req")
        print("{:>5} {:>8} {:>9} {:>8} {:>11}".format(*header))
        for number, r in enumerate(rounds, 1):
            print(
                f"{number:>5} {r.seconds:>8.2f} {r.requests:>9} "
                f"{r.req_per_s:>8.1f} {r.cpu_ms_per_request:>11.3f}"
            )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
