"""A sync stores SSO, the IP allowlist, access per IP and validation jobs exactly
as the simulator's world holds them (ground truth computed from the world's
plain dicts here, never by SMP's code), keeps history across syncs, and
degrades per capability when a plan or a key cannot read something.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tests.support.months import EDGE_DAYS, month_start, real_today
from tests.support.simulator import Setup, connect_world, new_key, wire_up

from smp.model import Outcome
from smp.services import exports
from smp.services.onboarding import add_key
from smp.simulator import Account, World, generate_world, load_world
from smp.storage.access import (
    list_access_attempts,
    list_allowlist,
    list_sso,
    list_validation_jobs,
    validation_usage,
)
from smp.sync.engine import run_sync

PER_SEGMENT = 1_500  # addresses a segment holds at most (fact sheet §9)


def _utc(epoch: int) -> dt.datetime | None:
    return None if epoch == 0 else dt.datetime.fromtimestamp(epoch, dt.UTC)


def _world(today: dt.date) -> World:
    # The third account is on the free plan: no SSO, no validation.
    return generate_world(
        seed=31, accounts=3, teammates=4, pending=1, subusers=1, months=2,
        invoices=1, today=today,
    )  # fmt: skip


def expected_sso(account: Account) -> list[tuple[object, ...]]:
    return sorted(
        (
            s["id"],
            s["enabled"],
            s["completed_integration"],
            _utc(s["last_updated"]),
            tuple(
                sorted((str(c["id"]), _utc(c["not_after"])) for c in s["certificates"])
            ),
        )
        for s in account.sso_integrations
    )


def stored_sso(engine: Engine, iid: int) -> list[tuple[object, ...]]:
    with Session(engine) as session:
        found = list_sso(session, iid)
    return sorted(
        (
            s.sso_id,
            s.enabled,
            s.completed,
            s.last_updated,
            tuple(sorted((c.cert_id, c.not_after) for c in s.certificates)),
        )
        for s in found
    )


def expected_months(account: Account) -> list[tuple[dt.date, int, int, int]]:
    """(month, jobs, segments, up to N addresses) by the UTC month a job started."""
    jobs: Counter[dt.date] = Counter()
    segments: Counter[dt.date] = Counter()
    for job in account.validation_jobs:
        month = month_start(dt.datetime.fromtimestamp(job["started_at"], dt.UTC).date())
        jobs[month] += 1
        segments[month] += job.get("segments", 0)
    return [(m, jobs[m], segments[m], segments[m] * PER_SEGMENT) for m in sorted(jobs)]


async def _connected(setup: Setup, name: str, account: int = 0) -> int:
    """An integration of `account` with its full and validation keys."""
    world = setup.world
    if account:
        # The account under test first, as connect_world connects the first.
        world = load_world(world.to_json())
        world.accounts.insert(0, world.accounts.pop(account))
        setup.sim.replace_world(world)
        setup.world = world
    iid = await connect_world(setup, name, ("full",))
    await add_key(
        setup.engine, setup.box, iid, new_key(world, "validation"), setup.context
    )
    return iid


@pytest.mark.parametrize(
    "today",
    [
        pytest.param(EDGE_DAYS["new-year"], id="new-year"),
        pytest.param(real_today(), id="today"),
    ],
)
async def test_a_sync_stores_what_the_world_holds(
    engine: Engine, today: dt.date
) -> None:
    setup = wire_up(_world(today), engine)
    account = setup.world.accounts[0]
    iid = await _connected(setup, f"access {today}")
    report = await run_sync(setup.engine, setup.box, iid, setup.context)
    for capability in ("sso", "ip_allowlist", "access_activity", "email_validation"):
        assert report.capabilities[capability].outcome is Outcome.OK, capability
    assert stored_sso(engine, iid) == expected_sso(account)
    assert any(s["certificates"] for s in account.sso_integrations)
    with Session(engine) as session:
        rules = list_allowlist(session, iid)
        attempts = list_access_attempts(session, iid)
        jobs = list_validation_jobs(session, iid)
        months = validation_usage(session, iid)
    assert sorted((r.rule_id, r.ip) for r in rules) == sorted(
        (str(r["id"]), r["ip"]) for r in account.ip_allowlist
    )
    assert rules  # the first account always has an allowlist
    assert sorted((a.ip, a.allowed, a.first_at, a.last_at) for a in attempts) == sorted(
        (a["ip"], a["allowed"], _utc(a["first_at"]), _utc(a["last_at"]))
        for a in account.access_activity
    )
    assert sorted(
        (j.job_id, j.status, j.started_at, j.segments) for j in jobs
    ) == sorted(
        (j["id"], j["status"], _utc(j["started_at"]), j.get("segments", 0))
        for j in account.validation_jobs
    )
    got = [(m.month, m.jobs, m.segments, m.addresses_up_to) for m in months]
    assert got == expected_months(account)
    assert all(m.jobs_not_read == 0 for m in months)  # each job's details read
    assert sum(m.jobs for m in months) == len(account.validation_jobs) > 0


async def test_a_second_sync_replaces_settings_and_keeps_history(
    engine: Engine,
) -> None:
    setup = wire_up(_world(real_today()), engine)
    iid = await _connected(setup, "access history")
    await run_sync(setup.engine, setup.box, iid, setup.context)
    world = load_world(setup.world.to_json())
    account = world.accounts[0]
    before = {a["ip"]: a for a in account.access_activity}
    gone_ip = account.access_activity[0]["ip"]
    widened = account.access_activity[1]
    now = int(dt.datetime.combine(world.today_date(), dt.time(11), dt.UTC).timestamp())
    # SendGrid forgets one address, and lists another with a later last attempt
    # and, having dropped its older attempts, a later first one.
    account.access_activity = [
        {**widened, "first_at": now - 3600, "last_at": now},
        {**widened, "ip": "192.0.2.77", "first_at": now - 60, "last_at": now},
    ]
    account.ip_allowlist = []
    sso = account.sso_integrations[0]
    sso["enabled"] = not sso["enabled"]
    sso["certificates"] = sso["certificates"][:1]
    settled = [
        j["id"] for j in account.validation_jobs if j["status"] in ("Done", "Error")
    ]
    setup.sim.replace_world(world)
    setup.sim.requests.clear()
    report = await run_sync(setup.engine, setup.box, iid, setup.context)
    assert report.outcome is Outcome.OK
    assert stored_sso(engine, iid) == expected_sso(account)
    with Session(engine) as session:
        assert list_allowlist(session, iid) == []  # no allowlist any more
        attempts = {a.ip: a for a in list_access_attempts(session, iid)}
    assert set(attempts) == set(before) | {"192.0.2.77"}  # the forgotten one stays
    assert attempts[gone_ip].last_at == _utc(before[gone_ip]["last_at"])
    assert attempts[widened["ip"]].first_at == _utc(widened["first_at"])
    assert attempts[widened["ip"]].last_at == _utc(now)
    # A Done or Error job whose segments are stored is not read again.
    details = [
        r.path
        for r in setup.sim.requests
        if r.path.startswith("/v3/validations/email/jobs/")
    ]
    assert sorted(details) == sorted(
        f"/v3/validations/email/jobs/{j['id']}"
        for j in account.validation_jobs
        if j["id"] not in settled
    )


async def test_a_free_plan_or_a_key_without_the_scope_degrades_per_capability(
    engine: Engine,
) -> None:
    setup = wire_up(_world(real_today()), engine)
    free = next(i for i, a in enumerate(setup.world.accounts) if a.type == "free")
    iid = await _connected(setup, "access free", account=free)
    report = await run_sync(setup.engine, setup.box, iid, setup.context)
    for capability in ("sso", "email_validation"):
        result = report.capabilities[capability]
        assert result.outcome is Outcome.UNAVAILABLE, capability
        assert result.error is not None
        assert f"SendGrid did not provide {capability} to this key" in result.error
        assert "\n" not in result.error
    assert report.capabilities["ip_allowlist"].outcome is Outcome.OK
    assert report.outcome is not Outcome.FAILED
    # A restricted key has no sso.settings.read: skipped, with the reason.
    restricted = wire_up(_world(real_today()), engine)
    iid = await connect_world(restricted, "access restricted", ("restricted",))
    report = await run_sync(restricted.engine, restricted.box, iid, restricted.context)
    for capability in ("sso", "ip_allowlist", "access_activity", "email_validation"):
        result = report.capabilities[capability]
        assert result.outcome is Outcome.SKIPPED, capability
        assert result.error == "no connected key can read this"


async def test_the_export_holds_them_with_the_words_for_what_is_missing(
    engine: Engine,
) -> None:
    setup = wire_up(_world(real_today()), engine)
    account = setup.world.accounts[0]
    iid = await _connected(setup, "access export")
    await run_sync(setup.engine, setup.box, iid, setup.context)
    with Session(engine) as session:
        found = exports.tables(session, iid)
    written = exports.files(exports.Format.CSV, "x", found)
    csv_rows = {
        name: list(csv.DictReader(io.StringIO(written[f"x-{name}.csv"].decode())))
        for name in ("sso", "access_attempts", "validation_monthly", "ip_allowlist")
    }
    assert sorted(
        (r["sso_id"], r["certificate_id"]) for r in csv_rows["sso"]
    ) == sorted(
        (s["id"], str(c["id"]))
        for s in account.sso_integrations
        for c in s["certificates"]
    )
    assert {r["ip"] for r in csv_rows["access_attempts"]} == {
        a["ip"] for a in account.access_activity
    }
    assert {r["teammate"] for r in csv_rows["access_attempts"]} == {
        "not available from SendGrid (it records access per IP only)"
    }
    assert [
        (r["month"], int(r["jobs"]), int(r["segments"]), int(r["addresses_up_to"]))
        for r in csv_rows["validation_monthly"]
    ] == [
        (m.strftime("%Y-%m"), jobs, segments, up_to)
        for m, jobs, segments, up_to in expected_months(account)
    ]
    assert {r["single_validations"] for r in csv_rows["validation_monthly"]} == {
        "not available from SendGrid"
    }
    assert len(found["validation_jobs"]) == len(account.validation_jobs)
    assert {r["ip"] for r in csv_rows["ip_allowlist"]} == {
        r["ip"] for r in account.ip_allowlist
    }
