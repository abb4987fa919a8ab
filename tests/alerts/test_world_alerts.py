"""End to end on the simulator: a sync opens findings, an alert round sends
each open high finding once; a re-sync sends nothing again; a finding that
resolves and returns is sent again as its new episode.

What must be sent is read from SMP's own findings (their correctness is
tests/findings'); this checks that alerts follow them, once each.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session
from tests.support.alert_receivers import HttpReceiver
from tests.support.simulator import Setup, synced, wire_up

from smp.model.alerts import RetryPlan
from smp.services.alerts import manage
from smp.services.alerts.channels import ChannelOptions
from smp.services.alerts.delivery import AlertSettings, deliver_due
from smp.services.findings import finding_detail, list_findings, snooze_finding
from smp.simulator import World, generate_world, load_world
from smp.storage.findings import evaluate_findings
from smp.storage.tables import AlertChannelRow
from smp.sync import run_sync

pytestmark = [
    pytest.mark.loopback,
    pytest.mark.parametrize("engine", ["sqlite"], indirect=True),
]
SETTINGS = AlertSettings(digest_hour=0, plan=RetryPlan())
NAME = "alerted world"
SNOOZED = "snoozed world"


def _world(credits_used: int) -> World:
    world = generate_world(seed=47, accounts=1, teammates=6, pending=1, subusers=1)
    today = world.today_date()
    # Used 10 days into a 30-day period: 900 or more runs out before the reset.
    world.accounts[0].credits.update(
        total=1000,
        used=credits_used,
        remain=1000 - credits_used,
        overage=0,
        last_reset=(today - dt.timedelta(days=10)).isoformat(),
        next_reset=(today + dt.timedelta(days=20)).isoformat(),
        reset_frequency="monthly",
    )
    return world


def _open_high(setup: Setup) -> dict[str, tuple[str, str]]:
    """Event id -> (rule, subject key) of the integration's open high findings."""
    found = list_findings(setup.engine, integration=NAME).items
    return {
        f"finding-{f.id}-episode-{f.episode}": (f.rule, f.subject_key)
        for f in found
        if f.severity == "high" and f.status == "open"
    }


async def _round(setup: Setup, minutes: int) -> int:
    now = setup.context.now() + dt.timedelta(minutes=minutes)
    report = await deliver_due(setup.engine, setup.box, now, SETTINGS)
    assert report.errors == []
    return report.sent


async def test_a_synced_world_alerts_each_high_finding_once(
    engine: Engine, receiver: HttpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMP_PROXY", "none")
    receiver.reset()
    setup = wire_up(_world(credits_used=900), engine)
    manage.add_channel(
        engine,
        setup.box,
        "world hook",
        ChannelOptions(kind="webhook", url=receiver.url(), min_severity="high"),
        created_by=None,
        now=setup.context.now() - dt.timedelta(hours=1),
    )
    iid = await synced(setup, NAME)
    expected = _open_high(setup)
    assert ("credits_running_out", "account") in expected.values()
    assert await _round(setup, 1) == len(expected)
    got = [p.headers["X-SMP-Event-Id"] for p in receiver.posted]
    assert sorted(got) == sorted(expected)

    # A re-sync with nothing changed: nothing is sent again.
    await run_sync(setup.engine, setup.box, iid, setup.context)
    assert await _round(setup, 2) == 0

    # The credits finding resolves, then returns: its second episode alerts.
    setup.sim.replace_world(load_world(_world(credits_used=100).to_json()))
    await run_sync(setup.engine, setup.box, iid, setup.context)
    assert await _round(setup, 3) == 0
    setup.sim.replace_world(load_world(_world(credits_used=950).to_json()))
    await run_sync(setup.engine, setup.box, iid, setup.context)
    assert await _round(setup, 4) == 1
    [back] = [
        event
        for event, subject in _open_high(setup).items()
        if subject == ("credits_running_out", "account")
    ]
    assert back.endswith("-episode-2")
    last = receiver.posted[-1]
    assert last.headers["X-SMP-Event-Id"] == back
    assert json.loads(last.body)["findings"][0]["integration"] == NAME
    assert len(receiver.posted) == len(expected) + 1


async def test_a_finding_snoozed_before_its_digest_is_alerted_when_it_reopens(
    engine: Engine, receiver: HttpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Snoozed before the digest went out, its delivery was skipped; once the
    snooze ends it is open again in the same episode and alerts exactly once."""
    monkeypatch.setenv("SMP_PROXY", "none")
    receiver.reset()
    with Session(engine) as session, session.begin():
        session.execute(delete(AlertChannelRow))  # the other test's channel
    setup = wire_up(_world(credits_used=100), engine)
    start = setup.context.now()
    manage.add_channel(
        engine,
        setup.box,
        "digest hook",
        ChannelOptions(kind="webhook", url=receiver.url(), min_severity="low"),
        created_by=None,
        now=start - dt.timedelta(hours=1),
    )
    iid = await synced(setup, SNOOZED)
    waiting = [
        f
        for f in list_findings(engine, integration=SNOOZED).items
        if f.status == "open" and f.severity != "high"
    ]
    assert waiting, "the world must open a finding that waits for the digest"
    snoozed = waiting[0]
    await _round(setup, 1)  # queues it for the digest
    snooze_finding(
        engine,
        snoozed.id,
        reason="vendor fixes it this week",
        until=start + dt.timedelta(days=2),
        actor="test",
        now=start + dt.timedelta(minutes=2),
    )
    await _round(setup, 60 * 24 + 1)  # the digest: it is skipped, snoozed

    # Past the snooze date an evaluation opens it again, same episode.
    evaluate_findings(engine, now=start + dt.timedelta(days=3), integration_ids=[iid])
    reopened = finding_detail(engine, snoozed.id).finding
    assert (reopened.status, reopened.episode) == ("open", snoozed.episode)
    for day in (3, 4, 5):
        await _round(setup, 60 * 24 * day + 1)

    def mentions(body: bytes) -> int:
        return sum(f["id"] == snoozed.id for f in json.loads(body)["findings"])

    assert sum(mentions(p.body) for p in receiver.posted) == 1
