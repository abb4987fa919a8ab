"""Helpers to drive the real client against the simulator.

The expected scope of each client call comes from the fact sheet
(/work/shared/docs/sendgrid-api.md §3–§10), not from the client, so a client
that asked the wrong endpoint or mapped the wrong scope would show up here.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from tests.sendgrid.fakes import FakeClock

from smp.sendgrid import ApiKey, RetryPolicy, SendGridClient
from smp.simulator import Account, SimKey, Simulator, World

# A fixed point for the simulated wall clock: whole seconds, so `Reset` headers
# (rounded up to a second by SendGrid and the simulator) are exact.
SIM_EPOCH = 1_800_000_000.0


def key_of(world: World, kind: str, account: Account | None = None) -> SimKey:
    username = (account or world.accounts[0]).username
    return next(k for k in world.keys if k.account == username and k.kind == kind)


def make_sim(world: World, clock: FakeClock, **options: Any) -> Simulator:
    """A simulator that shares the test's fake wall clock (for its windows)."""
    return Simulator(world, clock=clock.wall, fault_seed=3, **options)


def client_for(
    sim: Simulator,
    key: SimKey,
    clock: FakeClock,
    *,
    policy: RetryPolicy | None = None,
) -> SendGridClient:
    return SendGridClient(
        ApiKey.parse(key.key),
        base_url="https://api.sendgrid.com",
        transport=sim.transport(),
        clock=clock,
        policy=policy or RetryPolicy(rng=lambda: 0.0),
    )


@dataclass(frozen=True)
class Call:
    """One client method, the read scope SendGrid wants for it, and how to call it."""

    name: str
    scope: str | None
    run: Callable[[SendGridClient], Awaitable[object]]


async def _collect(items: Any) -> list[object]:
    return [item async for item in items]


def every_call(account: Account, today: dt.date) -> list[Call]:
    """Every public read method of `SendGridClient`, aimed at `account`'s data."""
    owner = account.teammates[0]["username"]
    subs = [s.username for s in account.subusers]
    month_ago = today - dt.timedelta(days=30)
    return [
        Call("scopes", None, lambda c: c.scopes()),
        Call("api_keys", "api_keys.read", lambda c: c.api_keys()),
        Call("own_api_key", "api_keys.read", lambda c: c.own_api_key()),
        Call("teammates", "teammates.read", lambda c: _collect(c.teammates())),
        Call("teammate", "teammates.read", lambda c: c.teammate(owner)),
        Call("pending_invites", "teammates.read", lambda c: c.pending_invites()),
        Call("subuser_access", "teammates.read", lambda c: c.subuser_access(owner)),
        Call("user_account", "user.account.read", lambda c: c.user_account()),
        Call("user_profile", "user.profile.read", lambda c: c.user_profile()),
        Call("user_email", "user.email.read", lambda c: c.user_email()),
        Call("user_username", "user.username.read", lambda c: c.user_username()),
        Call("user_credits", "user.credits.read", lambda c: c.user_credits()),
        Call("stats", "stats.read", lambda c: _collect(c.stats(month_ago, today))),
        Call(
            "subuser_stats",
            "subusers.stats.read",
            lambda c: _collect(c.subuser_stats(subs, month_ago, today)),
        ),
        Call(
            "subuser_monthly_stats",
            "subusers.stats.monthly.read",
            lambda c: _collect(c.subuser_monthly_stats(today)),
        ),
        Call("subusers", "subusers.read", lambda c: _collect(c.subusers())),
        Call(
            "subuser_credits",
            "subusers.credits.read",
            lambda c: c.subuser_credits(subs[0]),
        ),
        Call("invoices", "billing.read", lambda c: _collect(c.invoices())),
        Call(
            "validation_jobs", "validations.email.read", lambda c: c.validation_jobs()
        ),
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_in_thread(sim: Simulator) -> Iterator[str]:
    """Serve `sim` with uvicorn on a free loopback port; yield the base URL."""
    port = free_port()
    config = uvicorn.Config(
        sim.app, host="127.0.0.1", port=port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    # uvicorn installs signal handlers only in the main thread; none here.
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the simulator did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
