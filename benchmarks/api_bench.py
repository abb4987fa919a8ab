"""Benchmark: API and dashboard latency with 200,000 members, on SQLite and PostgreSQL.

For each database, this process fills an integration with 200,000 members
(bulk inserts), then starts `smp`'s server app with uvicorn in a subprocess on
127.0.0.1 and times, over loopback, one request at a time:

* `GET /api/v1/members?integration=ID&role=user&status=active&q=<text>&limit=100`
  with a bearer token (a filter and a text search), rotating the search text;
* `GET /integrations/ID` (the dashboard page) with a signed-in session.

It prints p50/p95/max in milliseconds per case and one JSON line at the end.
Targets: p95 <= 50 ms for the API and <= 150 ms for the page.

    .venv/bin/python benchmarks/api_bench.py [--members 200000] [--requests 200]
        [--databases sqlite,postgresql] [--postgres-url URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from smp.model.users import UserRole
from smp.services.users import create_user
from smp.storage import create_integration, generate_key, make_engine, migrate
from smp.storage.search import index_new_members, search_text
from smp.storage.tables import MemberRow
from smp.storage.users import create_api_token

# tests/support's free_port: the one copy the tests and benchmarks share.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _server import SERVE, on_each_database, summary, timed, wait_up
from tests.support.ports import free_port

PASSWORD = "benchmark password"
FIRST = [
    "anna",
    "bjorn",
    "chloe",
    "dang",
    "emile",
    "fatima",
    "grace",
    "hiroshi",
    "ines",
    "jose",
    "katarzyna",
    "liam",
    "monica",
    "noah",
    "olivia",
    "oyvind",
]
LAST = [
    "smith",
    "dubois",
    "nguyen",
    "obrien",
    "celik",
    "walsh",
    "perez",
    "yilmaz",
    "jones",
    "wisniewska",
    "yamada",
    "aberg",
    "kowalski",
    "ostergaard",
    "muller",
]
SEARCHES = ["smith", "anna", "walsh12", "ines.perez", "grace", "example.com", "zz-none"]


def fill(url: str, members: int) -> tuple[int, str]:
    """Migrate, add one integration with `members` members and a user; (id, token)."""
    engine = make_engine(url)
    migrate(engine)
    rng = random.Random(7)
    now = dt.datetime.now(dt.UTC)  # the server below reads the real clock too
    with Session(engine) as session, session.begin():
        integration = create_integration(session, f"Bench {uuid.uuid4().hex[:6]}")
        create_user(session, "bench", PASSWORD, UserRole.ADMIN)
        _, token = create_api_token(session, "bench", "bench")
    rows: list[dict[str, Any]] = []
    with engine.begin() as connection:
        for number in range(members):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            email = f"{first}.{last}{number}@example.com"
            role = "owner" if number == 0 else ("admin" if number % 6 == 0 else "user")
            # Few pending invites, as in real accounts; some removed members.
            status = (
                "pending"
                if number % 1000 == 0
                else ("removed" if number % 20 == 0 else "active")
            )
            rows.append(
                {
                    "integration_id": integration.id,
                    "member_key": email,
                    "email": email,
                    "username": f"{first}{last}{number}",
                    "first_name": first.title(),
                    "last_name": last.title(),
                    "search_text": search_text(
                        email, f"{first}{last}{number}", first, last
                    ),
                    "role": role,
                    "status": status,
                    "is_sso": number % 3 == 0,
                    "expiry_reported": False,
                    "first_seen": now,
                    "last_seen": now,
                }
            )
            if len(rows) == 5000:
                connection.execute(insert(MemberRow), rows)
                rows.clear()
        if rows:
            connection.execute(insert(MemberRow), rows)
    with Session(engine) as session, session.begin():
        index_new_members(session, 0)  # the sync's own write path does this
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    engine.dispose()
    return integration.id, token


def _sign_in(client: httpx.Client) -> None:
    form = client.get("/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert found
    answer = client.post(
        "/login",
        data={"username": "bench", "password": PASSWORD, "csrf_token": found.group(1)},
    )
    assert answer.status_code == 303, answer.status_code


def measure(url: str, members: int, requests: int) -> dict[str, Any]:
    started = time.perf_counter()
    integration_id, token = fill(url, members)
    fill_s = time.perf_counter() - started
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE, url, generate_key(), str(port)],
        env={**os.environ},
    )
    try:
        wait_up(base, server)
        with httpx.Client(base_url=base, timeout=30) as client:
            api = [
                f"/api/v1/members?integration={integration_id}&role=user"
                f"&status=active&q={SEARCHES[n % len(SEARCHES)]}&limit=100"
                for n in range(requests)
            ]
            headers = {"Authorization": f"Bearer {token}"}
            timed(client, api[:10], headers=headers)  # warm-up
            api_times = timed(client, api, headers=headers)
            _sign_in(client)
            page = [f"/integrations/{integration_id}"] * (requests // 2)
            timed(client, page[:5])
            page_times = timed(client, page)
    finally:
        server.terminate()
        server.wait(timeout=10)
    return {
        "fill_s": round(fill_s, 1),
        "api_members_filter_search": summary(api_times),
        "dashboard_page": summary(page_times),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "SMP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    options = parser.parse_args()
    results: dict[str, Any] = {"members": options.members}
    results.update(
        on_each_database(
            options.databases,
            options.postgres_url,
            lambda url: measure(url, options.members, options.requests),
        )
    )
    print(json.dumps({"benchmark": "api_members_and_dashboard", **results}))


if __name__ == "__main__":
    main()
