"""The client reads SSO, IP access and validation jobs as the world holds them.

Expected values come from the world's plain dicts (epoch seconds), converted
here with the standard library, not by the client's parsers.
"""

from __future__ import annotations

import datetime as dt

import pytest
from tests.support.fakes import FakeClock
from tests.support.simulator import client_for, key_of

from smp.sendgrid import MissingScopeError
from smp.sendgrid.wire_access import AccessAttempt, ValidationJob
from smp.simulator import Simulator, World


def _utc(epoch: int) -> dt.datetime | None:
    return None if epoch == 0 else dt.datetime.fromtimestamp(epoch, dt.UTC)


async def test_sso_integrations_and_certificates(
    world: World, sim: Simulator, clock: FakeClock
) -> None:
    account = world.accounts[0]
    assert account.sso_integrations  # the first account always has SSO
    async with client_for(sim, key_of(world, "full"), clock) as client:
        listed = await client.sso_integrations()
        certificates = {s.id: await client.sso_certificates(s.id) for s in listed}
    assert [(s.id, s.enabled, s.completed_integration) for s in listed] == [
        (s["id"], s["enabled"], s["completed_integration"])
        for s in account.sso_integrations
    ]
    for sso in account.sso_integrations:
        got = [(c.id, c.not_after) for c in certificates[sso["id"]]]
        assert got == [
            (str(c["id"]), _utc(c["not_after"])) for c in sso["certificates"]
        ]


async def test_allowlist_and_activity(
    world: World, sim: Simulator, clock: FakeClock
) -> None:
    account = world.accounts[0]
    async with client_for(sim, key_of(world, "full"), clock) as client:
        rules = await client.ip_allowlist()
        activity = await client.access_activity()
    assert [r.ip for r in rules] == [r["ip"] for r in account.ip_allowlist]
    expected = {
        a["ip"]: (a["allowed"], _utc(a["first_at"]), _utc(a["last_at"]))
        for a in account.access_activity
    }
    assert {a.ip: (a.allowed, a.first_at, a.last_at) for a in activity} == expected


async def test_validation_jobs_need_the_validation_key(
    world: World, sim: Simulator, clock: FakeClock
) -> None:
    account = world.accounts[0]
    async with client_for(sim, key_of(world, "full"), clock) as client:
        with pytest.raises(MissingScopeError):
            await client.validation_jobs()
    async with client_for(sim, key_of(world, "validation"), clock) as client:
        jobs = await client.validation_jobs()
        details = [await client.validation_job(j.id) for j in jobs]
    assert [(j.id, j.started_at) for j in jobs] == [
        (j["id"], _utc(j["started_at"])) for j in account.validation_jobs
    ]
    assert [d.segments for d in details] == [
        j.get("segments", 0) for j in account.validation_jobs
    ]


async def test_a_free_plan_has_no_sso_nor_validation(
    world: World, sim: Simulator, clock: FakeClock
) -> None:
    free = next(a for a in world.accounts if a.type == "free")
    for kind, read in (
        ("full", "sso_integrations"),
        ("validation", "validation_jobs"),
    ):
        async with client_for(sim, key_of(world, kind, free), clock) as client:
            with pytest.raises(MissingScopeError):
                await getattr(client, read)()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1712954639, dt.datetime(2024, 4, 12, 20, 43, 59, tzinfo=dt.UTC)),
        ("1712954639", dt.datetime(2024, 4, 12, 20, 43, 59, tzinfo=dt.UTC)),
        ("2024-04-12T20:43:59Z", dt.datetime(2024, 4, 12, 20, 43, 59, tzinfo=dt.UTC)),
        (
            "2024-04-12T22:43:59+02:00",
            dt.datetime(2024, 4, 12, 20, 43, 59, tzinfo=dt.UTC),
        ),
        ("2024-04-12T20:43:59", dt.datetime(2024, 4, 12, 20, 43, 59, tzinfo=dt.UTC)),
        (0, None),
        (None, None),
    ],
)
def test_job_times_are_epochs_or_iso_8601(value: object, expected: object) -> None:
    """The spec types them number but describes them as ISO 8601 (fact sheet §9)."""
    job = ValidationJob.model_validate({"id": "j", "started_at": value})
    assert job.started_at == expected


def test_a_time_that_is_no_time_is_refused() -> None:
    with pytest.raises(ValueError, match="not a time"):
        AccessAttempt.model_validate(
            {"ip": "1.1.1.1", "allowed": True, "last_at": "soon"}
        )
