"""Benchmark: requests per second for /v3/teammates pages of 100 over loopback.

Starts `smp simulator serve` in a subprocess (latency and rate limit off), then
runs several client processes, each with concurrent httpx connections, for
about ten seconds. Prints the figures and one JSON line.

    .venv/bin/python benchmarks/simulator_bench.py [--seconds 10] [--clients 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

# tests/support's free_port: the one copy the tests and benchmarks share.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.ports import free_port

TEAMMATES = 1000
PAGE = 100


def _smp() -> list[str]:
    return [sys.executable, "-m", "smp"]


def _full_key() -> str:
    out = subprocess.run(
        [*_smp(), "simulator", "keys", "--seed", "7", "--accounts", "1",
         "--teammates", str(TEAMMATES), "--json"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    keys: list[dict[str, str]] = json.loads(out)
    return next(k["key"] for k in keys if k["kind"] == "full")


async def _client(base: str, key: str, seconds: float, connections: int) -> int:
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=connections)
    done = 0
    deadline = time.perf_counter() + seconds
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits) as c:

        async def worker(start: int) -> None:
            nonlocal done
            offset = start
            while time.perf_counter() < deadline:
                reply = await c.get(
                    "/v3/teammates", params={"limit": PAGE, "offset": offset}
                )
                if reply.status_code != 200 or len(reply.json()["result"]) != PAGE:
                    raise RuntimeError(f"bad reply {reply.status_code}")
                done += 1
                offset = (offset + PAGE) % TEAMMATES

        await asyncio.gather(*(worker(i * PAGE) for i in range(connections)))
    return done


def _client_process(base: str, key: str, seconds: float, connections: int) -> int:
    return asyncio.run(_client(base, key, seconds, connections))


def _wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if proc.poll() is not None:
            raise RuntimeError("the simulator exited early")
        try:
            httpx.get(base + "/_sim/faults", timeout=0.5)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError("the simulator did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    key = _full_key()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    server = subprocess.Popen(
        [*_smp(), "simulator", "serve", "--port", str(port), "--seed", "7",
         "--accounts", "1", "--teammates", str(TEAMMATES), "--rate-limit", "0"],
        env=env, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_ready(base, server)
        started = time.perf_counter()
        with multiprocessing.Pool(args.clients) as pool:
            counts = pool.starmap(
                _client_process,
                [(base, key, args.seconds, args.connections)] * args.clients,
            )
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=10)
    total = sum(counts)
    rate = total / elapsed
    print(f"/v3/teammates pages of {PAGE}: {total} requests in {elapsed:.1f} s")
    print(f"{rate:,.0f} req/s ({args.clients} client processes x {args.connections})")
    figures = {
        "benchmark": "simulator_teammates_page100",
        "requests": total,
        "seconds": round(elapsed, 2),
        "req_per_s": round(rate, 1),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
