"""Every client method with every kind of key, and what the simulator saw.

The expected outcome of a call follows from the key's scopes in the world and
the scope the fact sheet names for the endpoint: 200 with the scope, 403
without it, 401 for a revoked key whatever its scopes.
"""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from tests.sendgrid_sim.calls import every_call
from tests.support.fakes import FakeClock
from tests.support.simulator import client_for, key_of

from smp.sendgrid import AuthenticationError, MissingScopeError
from smp.simulator import KEY_KINDS, Simulator, World


@pytest.mark.parametrize("kind", KEY_KINDS)
async def test_each_method_succeeds_exactly_when_the_key_has_the_scope(
    world: World, sim: Simulator, clock: FakeClock, kind: str
) -> None:
    account = world.accounts[0]
    key = key_of(world, kind, account)
    calls = every_call(account, dt.date.fromisoformat(world.today))
    outcomes: dict[str, str] = {}
    async with client_for(sim, key, clock) as client:
        for call in calls:
            try:
                await call.run(client)
                outcomes[call.name] = "ok"
            except AuthenticationError:
                outcomes[call.name] = "401"
            except MissingScopeError as exc:
                # The error names the scope to add, as the fact sheet names it.
                outcomes[call.name] = "403" if call.scope in exc.scopes else str(exc)
    expected = {
        call.name: "401"
        if kind == "revoked"
        else ("ok" if call.scope is None or call.scope in key.scopes else "403")
        for call in calls
    }
    assert outcomes == expected
    # Neither 401 nor 403 is retried, and nothing waited.
    assert clock.sleeps == []
    assert client.counters.retries == 0


async def test_a_full_run_of_every_key_sends_only_gets(
    world: World, sim: Simulator, clock: FakeClock
) -> None:
    today = dt.date.fromisoformat(world.today)
    for account in world.accounts[:2]:
        for kind in KEY_KINDS:
            async with client_for(sim, key_of(world, kind, account), clock) as client:
                for call in every_call(account, today):
                    with contextlib.suppress(AuthenticationError, MissingScopeError):
                        await call.run(client)
    seen = {(r.method, r.path.split("/")[2]) for r in sim.requests}
    assert {method for method, _ in seen} == {"GET"}
    # Every key kind of both accounts reached the simulator, over every area.
    assert {r.key_id for r in sim.requests} == {
        k.key_id
        for k in world.keys
        if k.account in (a.username for a in world.accounts[:2])
    }
    assert {area for _, area in seen} >= {
        "scopes", "api_keys", "teammates", "user", "stats", "subusers", "billing",
        "validations",
    }  # fmt: skip


async def test_403_on_one_endpoint_leaves_the_others_working(
    world: World, sim: Simulator, clock: FakeClock
) -> None:
    account = world.accounts[0]
    key = key_of(world, "restricted", account)
    assert "subusers.read" not in key.scopes
    assert "teammates.read" in key.scopes
    async with client_for(sim, key, clock) as client:
        with pytest.raises(MissingScopeError):
            [s async for s in client.subusers()]
        mates = [t async for t in client.teammates()]
        credits = await client.user_credits()
    assert len(mates) == len(account.teammates)
    assert credits.used == account.credits["used"]
    statuses = [(r.path, r.status) for r in sim.requests]
    assert statuses[0] == ("/v3/subusers", 403)
    assert all(status == 200 for _, status in statuses[1:])


async def test_401_fails_at_once(
    world: World, sim: Simulator, clock: FakeClock
) -> None:
    key = key_of(world, "revoked")
    async with client_for(sim, key, clock) as client:
        with pytest.raises(AuthenticationError, match="revoked"):
            await client.user_credits()
        assert client.counters.requests == 1
    assert len(sim.requests) == 1
    assert clock.sleeps == []
    # The secret never appears in the error or the client's repr.
    assert key.key.split(".")[2] not in repr(client)
