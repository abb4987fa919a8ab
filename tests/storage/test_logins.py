"""The login throttle's arithmetic, its addresses, and tries sent all at once."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from smp.storage.logins import (
    LoginThrottle,
    client_network,
    login_wait,
    start_login_attempt,
)

POLICY = LoginThrottle()
SECOND = dt.timedelta(seconds=1)


def test_waits_double_from_the_first_delay_up_to_the_cap() -> None:
    free = POLICY.free_failures
    assert [POLICY.delay(n, free) for n in range(free)] == [dt.timedelta(0)] * free
    grown = [POLICY.delay(free + n, free) for n in range(12)]
    assert grown[:9] == [2 * SECOND * 2**n for n in range(9)]  # 2 s ... 512 s
    assert grown[9:] == [dt.timedelta(minutes=15)] * 3
    assert POLICY.delay(10**9, free) == dt.timedelta(minutes=15)


@pytest.mark.parametrize(
    ("address", "counted_as"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2::9", "2001:db8:1:2::/64"),
        ("testclient", "testclient"),
    ],
)
def test_addresses_are_counted_as_their_network(address: str, counted_as: str) -> None:
    assert client_network(address) == counted_as


def test_tries_sent_all_at_once_cannot_pass_the_free_failures(engine: Engine) -> None:
    name = f"target-{uuid.uuid4().hex[:8]}"
    address = "192.0.2.200"
    now = dt.datetime.now(dt.UTC)
    barrier = threading.Barrier(12)
    outcomes: list[object] = []
    guard = threading.Lock()

    def attempt() -> None:
        barrier.wait()
        with Session(engine) as session, session.begin():
            found = start_login_attempt(session, name, address, now=now, policy=POLICY)
        with guard:
            outcomes.append(found)

    threads = [threading.Thread(target=attempt) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    recorded = [o for o in outcomes if isinstance(o, list)]
    waits = [o for o in outcomes if isinstance(o, dt.timedelta)]
    assert len(recorded) == POLICY.free_failures, outcomes
    assert len(waits) == 12 - POLICY.free_failures
    assert set(waits) == {POLICY.first_delay}
    with Session(engine) as session:
        assert login_wait(session, name, address, now=now, policy=POLICY) == (
            POLICY.first_delay
        )
        # The same name from elsewhere, and another name here, wait for nothing.
        for other_name, other_address in ((name, "192.0.2.201"), ("x", address)):
            wait = login_wait(
                session, other_name, other_address, now=now, policy=POLICY
            )
            assert wait == dt.timedelta(0)


def test_failures_are_forgotten_after_the_policys_memory(engine: Engine) -> None:
    name = f"old-{uuid.uuid4().hex[:8]}"
    address = "192.0.2.210"
    start = dt.datetime.now(dt.UTC) - POLICY.memory - dt.timedelta(hours=3)
    for n in range(POLICY.free_failures + 3):
        # Each try after the longest wait, so every one is recorded.
        then = start + n * POLICY.max_delay
        with Session(engine) as session, session.begin():
            found = start_login_attempt(session, name, address, now=then, policy=POLICY)
            assert isinstance(found, list)
        with Session(engine) as session:
            waiting = login_wait(session, name, address, now=then, policy=POLICY)
        assert waiting == POLICY.delay(n + 1, POLICY.free_failures)
    now = dt.datetime.now(dt.UTC)
    with Session(engine) as session, session.begin():
        assert login_wait(session, name, address, now=now, policy=POLICY) == (
            dt.timedelta(0)
        )
        assert isinstance(
            start_login_attempt(session, name, address, now=now, policy=POLICY), list
        )
