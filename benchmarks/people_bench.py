"""Benchmark: the people directory at scale — import, reclassification, API, memory.

The world: 50,000 people in an HR file and 200,000 SendGrid accounts in 200
integrations (per integration 940 teammates, 40 pending invites and 20
subusers). The accounts are written with bulk inserts, as a sync would leave
them; they are not fetched from the simulator, because 200 accounts of 1,000
teammates would make this a sync benchmark (benchmarks/sync_bench.py is one).
Of the accounts, 85 % use a person's primary e-mail, 5 % an alias, 5 % an
unknown address on the company's domain and 5 % an outside domain; 5 % of the
people are terminated. The generator counts the leavers it made, and the
benchmark checks SMP finds exactly that many.

Each timed step runs in a fresh process, which reports its own time and peak
RSS (so the set-up's memory is not counted):

* import: `import_people` of the 50,000-row CSV (it reclassifies every account
  at the end, writing all 200,000 classifications the first time);
* re-import of the same file (changes nothing);
* full reclassification with nothing changed, and after the stored
  classifications are deleted (every row written again);
* `GET /api/v1/accounts?classification=leaver&limit=100` over loopback against
  the real server in a subprocess, with rotating offsets: p50/p95/max.

Targets (issue L): import <= 10 s, full reclassification <= 5 s, API p95 <=
100 ms, peak RSS <= 300 MB.

    .venv/bin/python benchmarks/people_bench.py [--people 50000]
        [--integrations 200] [--requests 200] [--databases sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from smp.model.users import UserRole
from smp.services.users import create_user
from smp.simulator.directory import COLUMNS  # the directory file's columns
from smp.storage import create_integration, generate_key, make_engine, migrate
from smp.storage.tables import CompanyDomainRow, MemberRow, SubuserRow
from smp.storage.users import create_api_token

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _server import SERVE, main_on_people_world, summary, timed, wait_up
from tests.support.ports import free_port

COMPANY = "corp.example"
TEAMMATES, INVITES, SUBUSERS = 940, 40, 20
DEPARTMENTS = ["Marketing", "Sales", "Engineering", "Support", "Finance", "Legal"]
TYPES = ["employee"] * 8 + ["contractor", "partner"]


def directory(people: int, rng: random.Random) -> tuple[bytes, list[str], set[int]]:
    """The HR file, each person's primary e-mail, and who is terminated."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    primaries: list[str] = []
    terminated: set[int] = set()
    for number in range(people):
        email = f"person{number}@{COMPANY}"
        primaries.append(email)
        status = "active"
        if number % 20 == 7:
            status = "terminated"
            terminated.add(number)
        elif number % 50 == 3:
            status = "leave"
        writer.writerow(
            [
                email,
                f"E{number:06d}",
                f"First{number}",
                f"Last{number}",
                DEPARTMENTS[number % len(DEPARTMENTS)],
                f"person{number // 10}@{COMPANY}" if number >= 10 else "",
                status,
                rng.choice(TYPES),
                "2020-01-15",
                "2026-06-30" if status == "terminated" else "",
                f"p{number}@old.{COMPANY}",
            ]
        )
    return out.getvalue().encode(), primaries, terminated


def _account_email(
    rng: random.Random, people: int, terminated: set[int], serial: int
) -> tuple[str, bool]:
    """An account's e-mail and whether it belongs to a terminated person."""
    draw = rng.random()
    if draw < 0.05:
        return f"outsider{serial}@agency.example", False
    if draw < 0.10:
        return f"nobody{serial}@{COMPANY}", False
    number = rng.randrange(people)
    email = f"p{number}@old.{COMPANY}" if draw < 0.15 else f"person{number}@{COMPANY}"
    return email, number in terminated


def fill(
    url: str, people: int, integrations: int, terminated: set[int]
) -> tuple[str, int]:
    """Migrate and write the integrations' accounts; (API token, leavers made)."""
    engine = make_engine(url)
    migrate(engine)
    rng = random.Random(11)
    now = dt.datetime.now(dt.UTC)  # the server reads the real clock too
    leavers = serial = 0
    with Session(engine) as session, session.begin():
        ids = [
            create_integration(session, f"Bench {number}").id
            for number in range(integrations)
        ]
        create_user(session, "bench", "benchmark password", UserRole.ADMIN)
        _, token = create_api_token(session, "bench", "bench")
        session.add(CompanyDomainRow(domain=COMPANY, created_at=now))
    with engine.begin() as connection:
        for integration_id in ids:
            members: list[dict[str, Any]] = []
            subusers: list[dict[str, Any]] = []
            for number in range(TEAMMATES + INVITES + SUBUSERS):
                serial += 1
                email, leaver = _account_email(rng, people, terminated, serial)
                leavers += leaver
                if number >= TEAMMATES + INVITES:
                    subusers.append(_subuser(integration_id, serial, email, now))
                    continue
                invite = number >= TEAMMATES
                members.append(_member(integration_id, serial, email, invite, now))
            connection.execute(insert(MemberRow), members)
            connection.execute(insert(SubuserRow), subusers)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    engine.dispose()
    return token, leavers


def _member(
    integration_id: int, serial: int, email: str, invite: bool, now: dt.datetime
) -> dict[str, Any]:
    return {
        "integration_id": integration_id,
        # Unique within the integration even when the draw repeats an e-mail.
        "member_key": f"{email}#{serial}",
        "email": email,
        "username": None if invite else f"user{serial}",
        "search_text": email,
        "role": "user",
        "status": "pending" if invite else "active",
        "expiry_reported": False,
        "first_seen": now,
        "last_seen": now,
    }


def _subuser(
    integration_id: int, serial: int, email: str, now: dt.datetime
) -> dict[str, Any]:
    return {
        "integration_id": integration_id,
        "username": f"sub{serial}",
        "email": email,
        "disabled": False,
        "first_seen": now,
        "last_seen": now,
        "synced_at": now,
    }


# Each step in a fresh process: its own time and peak RSS, not the set-up's.
STEP = """
import datetime as dt, json, resource, sys, time
from sqlalchemy import text
from smp.storage import make_engine
from smp.storage.classifications import reclassify
from smp.services.people_import import import_people
url, step, path = sys.argv[1], sys.argv[2], sys.argv[3]
engine = make_engine(url)
data = open(path, "rb").read()
now = dt.datetime.now(dt.UTC)
if step == "reclassify_rewrite":
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM account_classifications"))
started = time.perf_counter()
if step.startswith("import"):
    report = import_people(engine, data, filename="hr.csv", now=now).as_json()
    result = {k: v for k, v in report.items() if k != "errors"}
    result["errors"] = len(report["errors"])
else:
    result = {"accounts": reclassify(engine, now=now)}
seconds = time.perf_counter() - started
with engine.connect() as connection:
    leavers = connection.execute(text(
        "SELECT count(*) FROM account_classifications"
        " WHERE present AND classification = 'leaver'")).scalar_one()
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": round(seconds, 2), "peak_rss_mb": round(peak_mb),
                  "leavers": leavers, **result}))
"""


def _step(url: str, step: str, path: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", STEP, url, step, str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(url: str, options: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(5)
    data, _, terminated = directory(options.people, rng)
    token, leavers = fill(url, options.people, options.integrations, terminated)
    results: dict[str, Any] = {"leavers_made": leavers}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "hr.csv"
        path.write_bytes(data)
        for step in ("import", "import_again", "reclassify", "reclassify_rewrite"):
            results[step] = _step(url, step, path)
            print(f"  {step}: {json.dumps(results[step])}", flush=True)
            if results[step]["leavers"] != leavers:
                raise SystemExit(
                    f"{step}: {results[step]['leavers']} leavers found, {leavers} made"
                )
    results["api_accounts_leavers"] = _api(url, token, options.requests, leavers)
    return results


def _api(url: str, token: str, requests: int, leavers: int) -> dict[str, float]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE, url, generate_key(), str(port)],
        env={**os.environ},
    )
    try:
        wait_up(base, server)
        pages = max(1, leavers // 100)
        paths = [
            f"/api/v1/accounts?classification=leaver&limit=100"
            f"&offset={100 * (n * 37 % pages)}"
            for n in range(requests)
        ]
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, timeout=30) as client:
            timed(client, paths[:10], headers=headers)  # warm-up
            return summary(timed(client, paths, headers=headers))
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    main_on_people_world(
        "people",
        __doc__,
        measure,
        extra=lambda parser: parser.add_argument("--requests", type=int, default=200),
        header=lambda options: {
            "accounts": options.integrations * (TEAMMATES + INVITES + SUBUSERS)
        },
    )


if __name__ == "__main__":
    main()
