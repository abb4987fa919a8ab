"""Every simulator fault kind against the client, on a controlled clock.

The simulator and the client share one fake wall clock, so a `Reset` three
seconds ahead is exactly three seconds of (fake) sleep, and the test takes
microseconds. Backoff jitter is off (`rng=0`): the first backoff is 0.5 s.
"""

from __future__ import annotations

import dataclasses
import time

import pytest
from tests.support.fakes import FakeClock
from tests.support.simulator import client_for, key_of, make_sim

from smp.sendgrid import (
    AuthenticationError,
    RequestTimeout,
    RetryPolicy,
    ServerError,
    TransportError,
)
from smp.sendgrid.errors import UnreadableBody
from smp.simulator import FaultRule, Simulator, World

CREDITS = "/v3/user/credits"
FIRST_BACKOFF = RetryPolicy().base_backoff_s


async def _used_credits(
    sim: Simulator, clock: FakeClock, *, max_attempts: int = 6
) -> int:
    """Read `/v3/user/credits` with the first account's full key."""
    key = key_of(sim.world, "full")
    policy = RetryPolicy(max_attempts=max_attempts, rng=lambda: 0.0)
    async with client_for(sim, key, clock, policy=policy) as client:
        credits = await client.user_credits()
    assert credits.used is not None
    return credits.used


async def test_latency_is_waited_out(
    world: World, sim: Simulator, clock: FakeClock
) -> None:
    sim.add_fault(FaultRule(kind="latency", latency_ms=60, path=CREDITS))
    started = time.perf_counter()
    used = await _used_credits(sim, clock)
    assert time.perf_counter() - started >= 0.06
    assert used == world.accounts[0].credits["used"]
    assert clock.sleeps == []


@pytest.mark.parametrize(("status", "html"), [(500, False), (503, False), (502, True)])
async def test_5xx_is_retried_then_succeeds(
    world: World, sim: Simulator, clock: FakeClock, status: int, html: bool
) -> None:
    sim.add_fault(
        FaultRule(kind="status", status=status, html=html, count=2, path=CREDITS)
    )
    assert await _used_credits(sim, clock) == world.accounts[0].credits["used"]
    assert [r.status for r in sim.requests] == [status, status, 200]
    # Exponential backoff: 0.5 s, then 1 s.
    assert clock.sleeps == [FIRST_BACKOFF, 2 * FIRST_BACKOFF]


async def test_persistent_html_502_gives_up_without_echoing_the_page(
    sim: Simulator, clock: FakeClock
) -> None:
    sim.add_fault(FaultRule(kind="status", status=502, html=True, path=CREDITS))
    with pytest.raises(ServerError) as raised:
        await _used_credits(sim, clock, max_attempts=3)
    assert raised.value.status == 502
    assert "text/html" in str(raised.value)
    assert "<html" not in str(raised.value).lower()
    assert len(sim.requests) == 3


@pytest.mark.parametrize(
    ("kind", "error"), [("reset", TransportError), ("timeout", RequestTimeout)]
)
async def test_dropped_and_hung_connections_are_retried(
    world: World,
    sim: Simulator,
    clock: FakeClock,
    kind: str,
    error: type[Exception],
) -> None:
    sim.add_fault(FaultRule(kind=kind, count=1, path=CREDITS))  # type: ignore[arg-type]
    assert await _used_credits(sim, clock) == world.accounts[0].credits["used"]
    assert [r.fault for r in sim.requests] == [kind, None]
    assert clock.sleeps == [FIRST_BACKOFF]
    sim.add_fault(FaultRule(kind=kind, path=CREDITS))  # type: ignore[arg-type]
    with pytest.raises(error):
        await _used_credits(sim, clock, max_attempts=2)


async def test_429_waits_until_reset_not_a_blind_backoff(
    world: World, clock: FakeClock
) -> None:
    # A 3 s window: the injected 429 says Reset = now + 3 s.
    sim = make_sim(world, clock, rate_window_s=3.0)
    sim.add_fault(FaultRule(kind="429", count=1, path=CREDITS))
    assert await _used_credits(sim, clock) == world.accounts[0].credits["used"]
    assert clock.sleeps == [3.0]
    assert [r.status for r in sim.requests] == [429, 200]
    assert sim.requests[1].at == sim.requests[0].at + 3.0


async def test_a_burst_of_429s_is_waited_out_each_time(
    world: World, clock: FakeClock
) -> None:
    sim = make_sim(world, clock, rate_window_s=3.0)
    sim.add_fault(FaultRule(kind="429", count=3, path=CREDITS))
    key = key_of(world, "full")
    async with client_for(sim, key, clock) as client:
        credits = await client.user_credits()
    assert credits.total == world.accounts[0].credits["total"]
    assert clock.sleeps == [3.0, 3.0, 3.0]
    assert client.counters.rate_limit_waits == 3
    assert client.counters.rate_limit_wait_s == pytest.approx(9.0)


async def test_remaining_zero_paces_before_any_429(
    world: World, clock: FakeClock
) -> None:
    # Three requests per 10 s window; 43 teammates in pages of 5 is 9 requests.
    sim = make_sim(world, clock, rate_limit=3, rate_window_s=10.0)
    key = key_of(world, "full")
    async with client_for(sim, key, clock) as client:
        mates = [t async for t in client.teammates(page_size=5)]
    assert [m.username for m in mates] == [
        t["username"] for t in world.accounts[0].teammates
    ]
    assert [r.status for r in sim.requests] == [200] * 9
    # After each third request the client waits for the next window.
    assert clock.sleeps == [10.0, 10.0]


# A 200 whose body is cut short, not JSON, or a proxy's HTML page.
BROKEN_BODIES = [
    FaultRule(kind="truncated_json"),
    FaultRule(kind="invalid_json"),
    FaultRule(kind="status", status=200, html=True),
]


@pytest.mark.parametrize("broken", BROKEN_BODIES, ids=lambda rule: rule.kind)
async def test_a_broken_200_body_is_fetched_again_like_a_5xx(
    world: World, sim: Simulator, clock: FakeClock, broken: FaultRule
) -> None:
    sim.add_fault(dataclasses.replace(broken, count=2, path=CREDITS))
    key = key_of(world, "full")
    async with client_for(sim, key, clock) as client:
        credits = await client.user_credits()
        assert (client.counters.requests, client.counters.retries) == (3, 2)
    assert credits.used == world.accounts[0].credits["used"]
    assert [(r.status, r.fault) for r in sim.requests] == [
        (200, broken.kind),
        (200, broken.kind),
        (200, None),
    ]
    assert clock.sleeps == [FIRST_BACKOFF, 2 * FIRST_BACKOFF]


async def test_a_page_cut_short_mid_listing_is_fetched_again(
    world: World, sim: Simulator, clock: FakeClock
) -> None:
    key = key_of(world, "full")
    async with client_for(sim, key, clock) as client:
        names: list[str] = []
        async for mate in client.teammates(page_size=5):
            names.append(mate.username)
            if len(names) == 10:  # the third page is cut in half, once
                sim.add_fault(
                    FaultRule(kind="truncated_json", path="/v3/teammates", count=1)
                )
        assert client.counters.retries == 1
    assert names == [t["username"] for t in world.accounts[0].teammates]
    offsets = [(r.params["offset"], r.fault) for r in sim.requests[:4]]
    assert offsets == [
        (["0"], None),
        (["5"], None),
        (["10"], "truncated_json"),
        (["10"], None),  # the same page again, not the next one
    ]


@pytest.mark.parametrize("broken", BROKEN_BODIES, ids=lambda rule: rule.kind)
async def test_a_body_broken_every_time_fails_in_one_line_after_the_budget(
    sim: Simulator, clock: FakeClock, broken: FaultRule
) -> None:
    sim.add_fault(dataclasses.replace(broken, path=CREDITS))
    with pytest.raises(UnreadableBody) as raised:
        await _used_credits(sim, clock, max_attempts=4)
    message = str(raised.value)
    assert message.startswith(f"GET {CREDITS}: expected JSON, got ")
    assert "\n" not in message
    assert "<html" not in message.lower()
    assert len(sim.requests) == 4
    assert clock.sleeps == [0.5, 1.0, 2.0]


async def test_revoke_after_n_requests_stops_paging_at_once(
    world: World, sim: Simulator, clock: FakeClock
) -> None:
    key = key_of(world, "full")
    sim.add_fault(FaultRule(kind="revoke_after", after=3, key_id=key.key_id))
    async with client_for(sim, key, clock) as client:
        with pytest.raises(AuthenticationError, match="revoked"):
            [t async for t in client.teammates(page_size=5)]
    assert [r.status for r in sim.requests] == [200, 200, 200, 401]
    assert clock.sleeps == []
    # Only that key was revoked: the other account's key still reads.
    other = key_of(world, "full", world.accounts[1])
    async with client_for(sim, other, clock) as client:
        assert (await client.user_username()).username == world.accounts[1].username
