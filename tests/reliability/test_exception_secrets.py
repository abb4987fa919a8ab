"""Secret hygiene of exception texts and reprs: every way a client call can fail.

The flows in test_secret_hygiene.py search what SMP writes and answers; this
searches the exceptions themselves — message, repr, args and the whole
formatted chain (causes and contexts included) — because a caller may log or
show any of them; and the repr of every type that holds a raw key, which a log
line, a traceback's locals or a debugger shows.
"""

from __future__ import annotations

import secrets
import traceback
from collections.abc import Awaitable, Callable

import pytest
from pydantic import SecretStr
from tests.support.fakes import FakeClock
from tests.support.figures import record
from tests.support.simulator import SIM_EPOCH, client_for, key_of, make_sim

from smp.api.schemas import IntegrationCreate, KeyIn, ServiceAccountCreate, TokenOut
from smp.cli.key_source import KeySourceError, raw_key
from smp.sendgrid import ApiKey, RetryPolicy, SendGridClient, SendGridError
from smp.services.onboarding import NewKey
from smp.simulator import FaultRule, SimKey, Simulator, generate_world
from smp.storage import SecretBox, generate_key

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


def _assert_hidden(text: str, secret: str, where: str) -> None:
    assert secret not in text, where
    assert secret[:16] not in text, where


def test_types_that_hold_a_key_hide_it_in_their_repr() -> None:
    raw = key_of(WORLD, "full").key
    secret = raw.split(".")[2]
    holders: dict[str, object] = {
        "ApiKey": ApiKey.parse(raw),
        "NewKey": NewKey("access token", raw),
        "KeyIn": KeyIn(key=SecretStr(raw)),
        "IntegrationCreate": IntegrationCreate(
            name="n", keys=[KeyIn(key=SecretStr(raw))]
        ),
        "ServiceAccountCreate": ServiceAccountCreate(
            integration_id=1, key=SecretStr(raw)
        ),
    }
    for name, holder in holders.items():
        _assert_hidden(f"{holder!r} {holder!s}", secret, name)
    # SMP's own secrets: an API token shown once, the master key.
    token = "smp_" + secrets.token_urlsafe(32)
    shown_once = TokenOut(token=token, label="script")
    _assert_hidden(f"{shown_once!r} {shown_once!s}", token[4:], "TokenOut")
    master = generate_key()
    box = SecretBox.from_key(master)
    _assert_hidden(f"{box!r} {box!s}", master, "SecretBox")


@pytest.mark.parametrize(
    "where", ["--key-env", "--key-file", "both", "secret alone as a name"]
)
def test_a_key_given_as_a_name_is_refused_without_echoing_it(where: str) -> None:
    key = key_of(WORLD, "full")
    secret = key.key.split(".")[2]
    given = {
        "--key-env": (key.key, None),
        "--key-file": (None, key.key),
        "both": (key.key, key.key),
        "secret alone as a name": (secret, None),
    }[where]
    with pytest.raises(KeySourceError) as raised:
        raw_key(*given, "access token")
    _assert_hidden(_texts(raised.value), secret, where)
    assert "not the key itself" in str(raised.value)
