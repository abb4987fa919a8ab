"""Issue N's acceptance, on SQLite and PostgreSQL, with the simulator on loopback HTTP.

`smp simulator people` emits a directory for the world with people who have
left (and states each account's expected classification, `--truth`). SMP
syncs the world and imports the directory; a campaign over the integration
is created, its leavers decided revoke with one bulk filter
(`classification=leaver`), the rest kept. The simulator's control surface
then removes the leavers, as an admin would in SendGrid's UI, and the next
sync verifies each removal. An admin signs off, the evidence pack is
exported and verifies; one byte changed in any of its files makes
`smp reviews verify` fail and name that file.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from tests.support.people_cli import use_database
from tests.support.simulator import new_key, serve_simulator
from typer.testing import CliRunner, Result

from smp.cli.main import app
from smp.model import Outcome
from smp.sendgrid import RetryPolicy
from smp.services.onboarding import connect
from smp.services.people import add_domain
from smp.services.people_import import import_people
from smp.simulator import Simulator, World, generate_world
from smp.storage import SecretBox, generate_key
from smp.sync.context import SyncContext
from smp.sync.engine import run_sync

SEED = 23
SIZES = {"accounts": 1, "teammates": 12, "pending": 2, "subusers": 2}
TERMINATED = 3
NAME = "Acme mail"
CAMPAIGN = "Q4 SendGrid access review"
PACK_FILES = ("campaign.json", "manifest.json", "report.html", "reviews.xlsx")


def smp(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def ok(*args: str) -> Result:
    result = smp(*args)
    assert result.exit_code == 0, result.output
    return result


def _world() -> World:
    return generate_world(SEED, months=1, invoices=1, **SIZES)


def _emit(world: World, tmp: Path) -> tuple[str, dict[str, Any]]:
    truth_path = tmp / "truth.json"
    options = [f"--{name}={value}" for name, value in SIZES.items()]
    result = ok(
        "simulator", "people", "--seed", str(SEED), *options,
        "--months", "1", "--invoices", "1", "--today", world.today,
        "--terminated", str(TERMINATED), "--externals", "0",
        "--truth", str(truth_path),
    )  # fmt: skip
    return result.stdout, json.loads(truth_path.read_text())


def _leavers(truth: dict[str, Any]) -> dict[str, str]:
    """The truth's leavers among teammates and invites: e-mail -> kind."""
    found = {
        a["email"].lower(): a["kind"]
        for a in truth["accounts"]
        if a["classification"] == "leaver" and a["kind"] in ("teammate", "invite")
    }
    assert found, "the world needs leavers"
    return found


def _without(world: World, emails: set[str]) -> World:
    changed = world.model_copy(deep=True)
    for account in changed.accounts:
        gone = {
            t["username"] for t in account.teammates if t["email"].lower() in emails
        }
        account.teammates = [t for t in account.teammates if t["username"] not in gone]
        account.pending = [
            p for p in account.pending if p["email"].lower() not in emails
        ]
        account.subuser_access = {
            name: access
            for name, access in account.subuser_access.items()
            if name not in gone
        }
    return changed


def _items(campaign_id: str) -> list[dict[str, Any]]:
    shown = ok("reviews", "items", campaign_id, "--steps", "--json").stdout
    return list(json.loads(shown))


def test_a_whole_campaign_on_a_world_with_leavers(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_database(engine, tmp_path, monkeypatch)
    world = _world()
    csv_text, truth = _emit(world, tmp_path)
    leavers = _leavers(truth)
    noon = dt.datetime.combine(world.today_date(), dt.time(12), tzinfo=dt.UTC)
    removal_seen = noon + dt.timedelta(days=1, hours=3)
    clock = {"now": noon}
    box = SecretBox.from_key(generate_key())

    def context() -> SyncContext:
        """One per event loop: asyncio's locks (the limiter's) bind to one."""
        return SyncContext(
            policy=RetryPolicy(rng=lambda: 0.0), now=lambda: clock["now"]
        )

    sim = Simulator(world, rate_limit=None, today=world.today_date())

    with serve_simulator(sim) as base_url:

        async def sync(iid: int) -> None:
            report = await run_sync(engine, box, iid, context())
            for capability in ("members", "invites", "subusers"):
                outcome = report.capabilities[capability].outcome
                assert outcome in (Outcome.OK, Outcome.SKIPPED), report.to_json()

        integration, _ = asyncio.run(
            connect(
                engine,
                box,
                NAME,
                [new_key(world, "full")],
                context(),
                base_url=base_url,
            )
        )
        asyncio.run(sync(integration.id))
        report = import_people(
            engine, csv_text.encode(), filename="people.csv", now=noon
        )
        assert report.errors == ()
        for domain in truth["company_domains"]:
            add_domain(engine, domain, now=noon)

        # 1. The campaign; the leavers revoked in one go, the rest kept.
        ok("reviews", "create", CAMPAIGN, "--integrations", NAME,
           "--reviewer-rule", "owner", "--due", "2027-01-15")  # fmt: skip
        (listed,) = json.loads(ok("reviews", "list", "--json").stdout)
        campaign_id = str(listed["id"])
        ok("reviews", "decide", campaign_id, "--filter", "classification=leaver",
           "revoke", "--reason", "left the company")  # fmt: skip
        ok("reviews", "decide", campaign_id, "--filter", "decision=none", "keep")
        items = _items(campaign_id)
        revoked = {i["email"].lower(): i for i in items if i["decision"] == "revoke"}
        assert set(revoked) == set(leavers)
        assert {i["remediation"] for i in revoked.values()} == {"pending"}
        for email, item in revoked.items():
            place = "Pending invites" if leavers[email] == "invite" else "Teammates"
            assert place in item["remediation_steps"][0]
        assert {i["decision"] for i in items} == {"keep", "revoke"}

        # 2. Someone removes the leavers in SendGrid; the next sync sees it.
        answer = httpx.post(
            f"{base_url}/_sim/world",
            content=_without(world, set(leavers)).to_json(),
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        clock["now"] = removal_seen
        asyncio.run(sync(integration.id))

    after = _items(campaign_id)
    verified = {i["email"].lower(): i for i in after if i["decision"] == "revoke"}
    assert {i["remediation"] for i in verified.values()} == {"verified"}
    assert {i["remediation_verified_at"] for i in verified.values()} == {
        removal_seen.isoformat()
    }
    assert {i["remediation"] for i in after if i["decision"] == "keep"} == {"none"}

    # 3. Sign-off, export, and the pack verifies.
    ok("reviews", "signoff", campaign_id)
    pack = tmp_path / "evidence"
    exported = ok("reviews", "export", campaign_id, "--out", str(pack))
    assert "DRAFT" not in exported.stdout
    assert sorted(p.name for p in pack.iterdir()) == list(PACK_FILES)
    assert "Pack verified" in ok("reviews", "verify", str(pack)).stdout
    data = json.loads((pack / "campaign.json").read_text())
    assert data["draft"] is False
    shown = {
        i["snapshot"]["email"].lower(): i["remediation"]
        for i in data["items"]
        if i["decision"]["decision"] == "revoke"
    }
    assert set(shown) == set(leavers)
    assert {r["status"] for r in shown.values()} == {"verified"}
    seen = removal_seen.isoformat(timespec="seconds").replace("+00:00", "Z")
    assert {r["verified_at"] for r in shown.values()} == {seen}

    # 4. One byte changed in any file: verify fails and names that file.
    for name in PACK_FILES:
        copy = tmp_path / f"changed-{name}"
        shutil.copytree(pack, copy)
        data_bytes = bytearray((copy / name).read_bytes())
        data_bytes[len(data_bytes) // 3] ^= 0x20
        (copy / name).write_bytes(bytes(data_bytes))
        failed = smp("reviews", "verify", str(copy))
        assert failed.exit_code != 0, name
        assert name in failed.output, failed.output
