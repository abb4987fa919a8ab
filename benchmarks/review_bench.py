"""Benchmark: an access review of 200 integrations' 200,000 accounts (issue N:
creation <= 10 s, a bulk decision over 100,000 items <= 10 s, the evidence
pack's export <= 30 s, peak RSS <= 300 MB).

The world is the people benchmark's (benchmarks/people_bench.py: its accounts
and HR file, classified by a real import). The first half of the integrations
is named to the SMP user `bench` as reviewer, so the filter `reviewer=bench`
selects exactly half the items for one bulk decision.

The campaign is timed in a fresh process, so its peak RSS is the campaign's
own and not the world builder's:

* create: `smp reviews create` over every integration (the frozen snapshot);
* decide: `keep` for `reviewer=bench` (one UPDATE);
* export: the evidence pack (smp.services.review_evidence, all four files)
  of the half-decided campaign, a draft, into a temporary directory.

    .venv/bin/python benchmarks/review_bench.py [--people 50000]
        [--integrations 200] [--databases sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from smp.services.people_import import import_people
from smp.storage import make_engine
from smp.storage.tables import IntegrationRow

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import main_on_people_world
from people_bench import directory, fill

CREATE_LIMIT_S = DECIDE_LIMIT_S = 10.0
EXPORT_LIMIT_S = 30.0
RSS_LIMIT_MB = 300

# Run in its own process: the figures of the campaign alone.
STEP = """
import datetime as dt, json, shutil, sys, time
from smp.model.reviews import ReviewerRule
from smp.services import reviews
from smp.services.reviews import Actor
from smp.storage import make_engine

engine = make_engine(sys.argv[1])
admin = Actor("bench", True, "benchmark")
now = dt.datetime.now(dt.UTC)
names = list(reviews.integration_names(engine).values())
started = time.perf_counter()
campaign = reviews.create_campaign(
    engine, name="Bench review", integrations=names, due=None,
    rule=ReviewerRule.OWNER, actor=admin, now=now)
created_s = time.perf_counter() - started
started = time.perf_counter()
decided = reviews.decide(
    engine, campaign.id, admin, "keep", expression="reviewer=bench", now=now).changed
decide_s = time.perf_counter() - started
import pathlib, tempfile
from smp.services.review_evidence import export_pack
out = pathlib.Path(tempfile.mkdtemp(prefix="review-bench-")) / "pack"
started = time.perf_counter()
pack = export_pack(engine, campaign.id, out, admin, now=now)
export_s = time.perf_counter() - started
pack_mb = sum(p.stat().st_size for p in out.iterdir()) / 2**20
shutil.rmtree(out.parent)
# VmHWM is this process's own peak: getrusage's ru_maxrss keeps, across
# fork and exec, the parent's (the world builder's) high-water mark.
status = open("/proc/self/status").read()
peak_mb = int(status.split("VmHWM:")[1].split()[0]) / 1024
print(json.dumps({"items": campaign.items, "create_s": round(created_s, 2),
                  "decided": decided, "decide_s": round(decide_s, 2),
                  "export_s": round(export_s, 2), "pack_mb": round(pack_mb, 1),
                  "peak_rss_mb": round(peak_mb)}))
"""


def _owners(url: str, integrations: int) -> None:
    """The first half of the integrations reviewed by `bench`."""
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        session.execute(
            update(IntegrationRow)
            .where(IntegrationRow.id <= integrations // 2)
            .values(review_owner="bench")
        )
    engine.dispose()


def measure(url: str, options: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(5)
    data, _, terminated = directory(options.people, rng)
    fill(url, options.people, options.integrations, terminated)
    engine = make_engine(url)
    import_people(engine, data, filename="hr.csv", now=dt.datetime.now(dt.UTC))
    engine.dispose()
    _owners(url, options.integrations)
    done = subprocess.run(
        [sys.executable, "-c", STEP, url], check=True, capture_output=True, text=True
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["within_limit"] = (
        result["create_s"] <= CREATE_LIMIT_S
        and result["decide_s"] <= DECIDE_LIMIT_S
        and result["export_s"] <= EXPORT_LIMIT_S
        and result["peak_rss_mb"] <= RSS_LIMIT_MB
    )
    return result


def main() -> None:
    main_on_people_world("reviews", __doc__, measure)


if __name__ == "__main__":
    main()
