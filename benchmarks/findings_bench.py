"""Benchmark: every findings rule over 200 integrations, 200,000 accounts and
50,000 people (issue M: <= 3 s).

The world is the people benchmark's (benchmarks/people_bench.py: its HR file
and its accounts, classified by a real import), plus what the other rules
read: a third of the teammates made admins, half the pending invites expired
30 days ago, each subuser's last five months of volume (a quarter never
sending), each integration's and subuser's credit period, and one key per
integration (every tenth needing attention).

Timed, in process, each a full `evaluate_findings` of every integration:

* first: every finding is new (inserts and their `opened` events);
* again: nothing changed (each finding seen again);
* one: a single integration, as the sync's hook runs it.

    .venv/bin/python benchmarks/findings_bench.py [--people 50000]
        [--integrations 200] [--databases sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from smp.model.volume import add_months, month_start
from smp.services.people_import import import_people
from smp.storage import make_engine
from smp.storage.findings import evaluate_findings
from smp.storage.tables import (
    FindingRow,
    IntegrationRow,
    MemberRow,
    MonthlyVolumeRow,
    ServiceAccountRow,
    SubuserRow,
    UsagePeriodRow,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import main_on_people_world
from people_bench import directory, fill

LIMIT_S = 3.0


def _more_facts(url: str, now: dt.datetime) -> None:
    """What the people benchmark leaves out: admins, expiries, volumes, credits."""
    engine = make_engine(url)
    rng = random.Random(3)
    with Session(engine) as session, session.begin():
        session.execute(
            update(MemberRow)
            .where(MemberRow.status == "active", MemberRow.id % 3 == 0)
            .values(role="admin")
        )
        session.execute(
            update(MemberRow)
            .where(MemberRow.status == "pending", MemberRow.id % 2 == 0)
            .values(invite_expires_at=now - dt.timedelta(days=30))
        )
        ids = list(session.scalars(select(IntegrationRow.id)))
        subusers = session.execute(
            select(SubuserRow.integration_id, SubuserRow.username)
        ).all()
    this_month = month_start(now.date())
    months = [add_months(this_month, -back) for back in range(5)]
    start = (now - dt.timedelta(days=10)).date()
    volumes: list[dict[str, Any]] = []
    periods: list[dict[str, Any]] = []
    for iid, username in subusers:
        idle = rng.random() < 0.25
        volumes += [
            {
                "integration_id": iid,
                "subuser": username,
                "month": month,
                "closed": month != this_month,
                "requests": 0 if idle else rng.randrange(1, 10_000),
                "synced_at": now,
            }
            for month in months
        ]
        periods.append(_period(iid, username, start, rng, now))
    periods += [_period(iid, "", start, rng, now) for iid in ids]
    keys: list[dict[str, Any]] = [
        {
            "integration_id": iid,
            "label": "main",
            "kind": "full",
            "key_id": f"bench{iid}",
            "encrypted_secret": "-",
            "scopes": [],
            "capabilities": [],
            "missing": {},
            "status": "needs_attention" if iid % 10 == 0 else "ok",
            "created_at": now,
        }
        for iid in ids
    ]
    with engine.begin() as connection:
        connection.execute(insert(MonthlyVolumeRow), volumes)
        connection.execute(insert(UsagePeriodRow), periods)
        connection.execute(insert(ServiceAccountRow), keys)
        if engine.dialect.name == "postgresql":
            connection.execute(text("ANALYZE"))
    engine.dispose()


def _period(
    iid: int, subuser: str, start: dt.date, rng: random.Random, now: dt.datetime
) -> dict[str, Any]:
    return {
        "integration_id": iid,
        "subuser": subuser,
        "last_reset": start,
        "next_reset": start + dt.timedelta(days=30),
        "reset_frequency": "monthly",
        "credit_type": "recurring",
        "total": 100_000,
        # A third on a pace beyond their credits.
        "used": rng.randrange(10_000, 50_000),
        "synced_at": now,
    }


def _timed(url: str, now: dt.datetime, ids: list[int] | None) -> dict[str, Any]:
    engine = make_engine(url)
    started = time.perf_counter()
    done = evaluate_findings(engine, now=now, integration_ids=ids)
    seconds = time.perf_counter() - started
    with engine.connect() as connection:
        total = connection.execute(
            select(func.count()).select_from(FindingRow)
        ).scalar_one()
    engine.dispose()
    return {
        "seconds": round(seconds, 2),
        "integrations": done.integrations,
        "opened": done.opened,
        "resolved": done.resolved,
        "findings": total,
    }


def measure(url: str, options: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(5)
    data, _, terminated = directory(options.people, rng)
    fill(url, options.people, options.integrations, terminated)
    now = dt.datetime.now(dt.UTC)
    engine = make_engine(url)
    import_people(engine, data, filename="hr.csv", now=now)
    engine.dispose()
    _more_facts(url, now)
    results: dict[str, Any] = {}
    for step, ids in (("first", None), ("again", None), ("one", [1])):
        later = now + dt.timedelta(minutes=len(results) + 1)
        results[step] = _timed(url, later, ids)
        print(f"  {step}: {json.dumps(results[step])}", flush=True)
    slowest = max(results["first"]["seconds"], results["again"]["seconds"])
    results["within_limit"] = slowest <= LIMIT_S
    return results


def main() -> None:
    main_on_people_world("findings", __doc__, measure)


if __name__ == "__main__":
    main()
