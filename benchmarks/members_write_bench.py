"""Benchmark: the members write of a sync, in this process, without HTTP.

For each repeat a new integration gets the benchmark account's listing (1,000
teammates and 20 pending invites, `_world.template()`): the wire records are
mapped (`smp.sync.mapping`) and written with `save_members` and
`save_invites`, in one transaction, as `smp sync` does, with SMP's clock at
the world's today, noon. A first sync finds no stored members (1,020 events,
and one for each invite already expired); a re-sync, an hour later, the same
listing (only invites expired in that hour; each member's internal `last_seen`
bookkeeping moves on, which users never see).

Printed: CPU milliseconds (`time.process_time()`) per 1,000 members, the
median and the best of the repeats, for each phase.

    .venv/bin/python benchmarks/members_write_bench.py [--repeats 20] [--db URL]

The default database is a fresh SQLite file; `--db` takes any SMP database URL
(an empty PostgreSQL schema, say) and is migrated first.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from smp.sendgrid import wire
from smp.storage import (
    create_integration,
    make_engine,
    migrate,
    save_invites,
    save_members,
    session_factory,
)
from smp.sync import mapping

sys.path.insert(0, str(Path(__file__).parent))
from _world import template


def listing() -> tuple[list[wire.Teammate], list[wire.PendingInvite], dt.datetime]:
    """The template account's lists, and SMP's clock at its world's today, noon,
    so that its invites expire as they would in a sync on any date."""
    world, account = template()
    teammates = [wire.Teammate.model_validate(t) for t in account.teammates]
    invites = [wire.PendingInvite.model_validate(p) for p in account.pending]
    now = dt.datetime.combine(world.today_date(), dt.time(12), dt.UTC)
    return teammates, invites, now


def write(
    factory: sessionmaker[Session],
    integration_id: int,
    teammates: list[wire.Teammate],
    invites: list[wire.PendingInvite],
    now: dt.datetime,
) -> tuple[float, int]:
    """CPU seconds for one members-and-invites write, and its events."""
    started = time.process_time()
    with factory.begin() as session:
        events = save_members(
            session,
            integration_id,
            [mapping.teammate(t) for t in teammates],
            source_sa_id=None,
            now=now,
        )
        events += save_invites(
            session,
            integration_id,
            [mapping.invite(i) for i in invites],
            source_sa_id=None,
            now=now,
        )
    return time.process_time() - started, len(events)


def run(url: str, repeats: int) -> dict[str, dict[str, float]]:
    engine = make_engine(url)
    migrate(engine)
    factory = session_factory(engine)
    teammates, invites, start = listing()
    per_thousand = 1000 / (len(teammates) + len(invites))
    first: list[float] = []
    again: list[float] = []
    events: dict[str, int] = {}
    for index in range(repeats):
        with factory.begin() as session:
            integration = create_integration(session, f"Bench {index}", "global")
        seconds, events["first"] = write(
            factory, integration.id, teammates, invites, start
        )
        first.append(seconds)
        later = start + dt.timedelta(hours=1)
        seconds, events["resync"] = write(
            factory, integration.id, teammates, invites, later
        )
        again.append(seconds)
    engine.dispose()

    def summary(samples: list[float], name: str) -> dict[str, float]:
        return {
            "median_ms": round(statistics.median(samples) * 1000 * per_thousand, 2),
            "best_ms": round(min(samples) * 1000 * per_thousand, 2),
            "events": events[name],
        }

    return {"first_sync": summary(first, "first"), "resync": summary(again, "resync")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        result = run(url, args.repeats)
    if args.json:
        print(json.dumps(result))
        return
    for phase, figures in result.items():
        print(
            f"{phase:<10} {figures['median_ms']:7.2f} ms per 1,000 members"
            f" (best {figures['best_ms']:.2f}), {figures['events']} events"
        )


if __name__ == "__main__":
    main()
