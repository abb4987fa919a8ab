"""The client over a real socket: uvicorn serving the simulator on 127.0.0.1.

Small on purpose; the in-process tests cover the behaviour, this shows that it
survives real HTTP (httpx's own transport, real resets, a proxy's HTML 502).
"""

from __future__ import annotations

import pytest
from tests.support.simulator import key_of, serve_simulator

from smp.sendgrid import (
    ApiKey,
    AuthenticationError,
    MissingScopeError,
    RetryPolicy,
    SendGridClient,
)
from smp.simulator import FaultRule, Simulator, World

pytestmark = pytest.mark.loopback

# Real time here: keep the backoff short.
FAST = RetryPolicy(base_backoff_s=0.01, request_timeout_s=2.0)


async def test_client_over_loopback(world: World) -> None:
    sim = Simulator(world)
    account = world.accounts[0]
    sim.add_fault(
        FaultRule(kind="status", status=502, html=True, count=1, path="/v3/teammates")
    )
    sim.add_fault(FaultRule(kind="reset", count=1, path="/v3/user/credits"))
    with serve_simulator(sim) as base_url:
        full = ApiKey.parse(key_of(world, "full", account).key)
        async with SendGridClient(full, base_url=base_url, policy=FAST) as client:
            mates = [t async for t in client.teammates(page_size=10)]
            credits = await client.user_credits()
            with pytest.raises(MissingScopeError):
                [i async for i in client.invoices()]
            retries = client.counters.retries
        revoked = ApiKey.parse(key_of(world, "revoked", account).key)
        async with SendGridClient(revoked, base_url=base_url, policy=FAST) as client:
            with pytest.raises(AuthenticationError):
                await client.scopes()
    assert [m.username for m in mates] == [t["username"] for t in account.teammates]
    assert credits.used == account.credits["used"]
    # One retry after the HTML 502, one after the dropped connection.
    assert retries == 2
    faults = [(r.path, r.fault) for r in sim.requests if r.fault]
    assert faults == [("/v3/teammates", "status"), ("/v3/user/credits", "reset")]
    assert {r.method for r in sim.requests} == {"GET"}
