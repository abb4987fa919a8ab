"""Shared by the API benchmarks: the server in a subprocess, timings, schemas.

A benchmark fills a database, then starts `smp`'s server app with uvicorn in a
subprocess on 127.0.0.1 (so the measured process is the real server, not the
client) and times requests to it one at a time over loopback.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

SERVE = """
import sys, uvicorn
from smp.runtime.server_config import ServerConfig
from smp.storage import SecretBox, make_engine
from smp.sync import SyncContext
from smp.server import create_app
url, key, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
app = create_app(make_engine(url), SecretBox.from_key(key), SyncContext(),
                 scheduler=False, config=ServerConfig())
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
"""


def wait_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server exited")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start")


def timed(client: httpx.Client, paths: list[str], **kwargs: Any) -> list[float]:
    times = []
    for path in paths:
        start = time.perf_counter()
        answer = client.get(path, **kwargs)
        times.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
    return times


def summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
        "max_ms": round(ordered[-1], 1),
        "requests": len(ordered),
    }


def postgres_schema(base_url: str) -> tuple[str, str]:
    schema = f"smp_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), schema


def drop_schema(base_url: str, schema: str) -> None:
    admin = create_engine(base_url)
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def on_each_database(
    databases: str, postgres_url: str, measure: Callable[[str], dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """`measure(url)` on a fresh SQLite file and/or a fresh PostgreSQL schema
    (`databases`: "sqlite,postgresql"), each removed afterwards; printed as
    each finishes."""
    results: dict[str, dict[str, Any]] = {}
    for database in databases.split(","):
        print(database, flush=True)
        if database == "sqlite":
            with tempfile.TemporaryDirectory() as folder:
                results[database] = measure(f"sqlite:///{Path(folder) / 'bench.db'}")
        else:
            url, schema = postgres_schema(postgres_url)
            try:
                results[database] = measure(url)
            finally:
                drop_schema(postgres_url, schema)
        print(database, json.dumps(results[database]), flush=True)
    return results


def main_on_people_world(
    benchmark: str,
    doc: str | None,
    measure: Callable[[str, argparse.Namespace], dict[str, Any]],
    *,
    extra: Callable[[argparse.ArgumentParser], object] | None = None,
    header: Callable[[argparse.Namespace], dict[str, Any]] | None = None,
) -> None:
    """The command line the people-world benchmarks share (people, findings,
    reviews): the world's size, the databases, then one JSON line of results."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--integrations", type=int, default=200)
    if extra is not None:
        extra(parser)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "SMP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    options = parser.parse_args()
    results: dict[str, Any] = {"people": options.people}
    if header is not None:
        results.update(header(options))
    results.update(
        on_each_database(
            options.databases, options.postgres_url, lambda url: measure(url, options)
        )
    )
    print(json.dumps({"benchmark": benchmark, **results}))
