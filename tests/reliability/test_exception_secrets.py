"""Secret hygiene of exception texts: every way a client call can fail.

The flows in test_secret_hygiene.py search what SMP writes and answers; this
searches the exceptions themselves — message, repr, args and the whole
formatted chain (causes and contexts included) — because a caller may log or
show any of them.
"""

from __future__ import annotations

import traceback
from collections.abc import Awaitable, Callable

import pytest
from tests.reliability.figures import record
from tests.sendgrid.fakes import FakeClock
from tests.sendgrid_sim.simkit import SIM_EPOCH, client_for, key_of, make_sim

from smp.sendgrid import ApiKey, RetryPolicy, SendGridClient, SendGridError
from smp.simulator import FaultRule, SimKey, Simulator, generate_world

WORLD = generate_world(seed=41, accounts=1, teammates=12, subusers=2, months=2)
CREDITS = "/v3/user/credits"

FAULTS: dict[str, FaultRule] = {
    "html 502": FaultRule(kind="status", status=502, html=True, path=CREDITS),
    "json 503": FaultRule(kind="status", status=503, path=CREDITS),
    "404": FaultRule(kind="status", status=404, path=CREDITS),
    "429 forever": FaultRule(kind="429", path=CREDITS),
    "reset": FaultRule(kind="reset", path=CREDITS),
    "timeout": FaultRule(kind="timeout", path=CREDITS),
    "truncated json": FaultRule(kind="truncated_json", path=CREDITS),
    "invalid json": FaultRule(kind="invalid_json", path=CREDITS),
    "revoked mid-run": FaultRule(kind="revoke_after", after=0, path=CREDITS),
}


def _texts(error: BaseException) -> str:
    formatted = "".join(traceback.format_exception(error))
    return "\n".join([str(error), repr(error), repr(error.args), formatted])


def _assert_clean(error: BaseException, key: SimKey) -> None:
    secret = key.key.split(".")[2]
    texts = _texts(error)
    assert key.key not in texts
    assert secret not in texts
    # A cut-short or padded copy of the key is as good as the key.
    assert secret[:16] not in texts


async def _failure(run: Callable[[], Awaitable[object]]) -> SendGridError:
    with pytest.raises(SendGridError) as raised:
        await run()
    return raised.value


def _client(sim: Simulator, key: SimKey, clock: FakeClock) -> SendGridClient:
    policy = RetryPolicy(max_attempts=2, max_rate_limit_wait_s=5, rng=lambda: 0.0)
    return client_for(sim, key, clock, policy=policy)


@pytest.mark.parametrize("case", sorted(FAULTS))
async def test_failed_calls_never_show_the_key(case: str) -> None:
    clock = FakeClock(SIM_EPOCH)
    sim = make_sim(WORLD, clock)
    sim.add_fault(FAULTS[case])
    key = key_of(WORLD, "full")
    async with _client(sim, key, clock) as client:
        error = await _failure(client.user_credits)
    assert sim.requests, "the fault was never reached"
    _assert_clean(error, key)
    record(f"exception_secrets {case}", {"error": type(error).__name__})


@pytest.mark.parametrize("kind", ["revoked", "billing"])
async def test_refused_keys_never_show_the_key(kind: str) -> None:
    # A revoked key (401) and a billing key asking for teammates (403).
    clock = FakeClock(SIM_EPOCH)
    sim = make_sim(WORLD, clock)
    key = key_of(WORLD, kind)
    async with _client(sim, key, clock) as client:
        error = await _failure(client.pending_invites)
    assert getattr(error, "status", None) == (401 if kind == "revoked" else 403)
    _assert_clean(error, key)


def _mangled(raw: str) -> dict[str, str]:
    return {
        "cut short": raw[:-1],
        "one more character": raw + "x",
        "space inside": raw[:30] + " " + raw[30:],
        "no prefix": raw[3:],
        "quoted": f'"{raw}',
    }


@pytest.mark.parametrize("how", sorted(_mangled("SG.a.b")))
def test_malformed_keys_are_refused_without_echoing_them(how: str) -> None:
    key = key_of(WORLD, "full")
    with pytest.raises(SendGridError) as raised:
        ApiKey.parse(_mangled(key.key)[how])
    _assert_clean(raised.value, key)
