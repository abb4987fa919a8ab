"""`smp doctor` against the simulator, for each of its five key kinds.

Ground truth for a capability is what the simulator really serves to that key:
each capability's endpoints are probed with plain httpx (not the client), and
the doctor must claim the capability exactly when every probe answers 200.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import httpx
import pytest
from tests.support.simulator import key_of, serve_simulator
from typer.testing import CliRunner

from smp.cli import doctor_cmd
from smp.cli.main import app
from smp.simulator import KEY_KINDS, SimKey, Simulator, World, generate_world

# SendGrid never names a key's kind; the doctor infers it. The simulator's
# kind names map one to one onto the doctor's.
DOCTOR_KIND = {
    "full": "full",
    "restricted": "restricted",
    "billing": "billing",
    "validation": "email_validation",
}


def _probes(world: World) -> dict[str, list[str]]:
    """The endpoints (fact sheet §3–§9) each capability needs to read."""
    start = (dt.date.fromisoformat(world.today) - dt.timedelta(days=7)).isoformat()
    return {
        "members": ["/v3/teammates"],
        "invites": ["/v3/teammates/pending"],
        "subusers": ["/v3/subusers"],
        "usage_credits": ["/v3/user/credits"],
        "usage_volume": [f"/v3/stats?start_date={start}"],
        "account_identity": ["/v3/user/username", "/v3/user/account"],
        "invoices": ["/v3/billing/invoices"],
        "email_validation": ["/v3/validations/email/jobs"],
        "api_keys": ["/v3/api_keys"],
        "teammate_scopes": [
            f"/v3/teammates/{world.accounts[0].teammates[-1]['username']}"
        ],
        "sso": ["/v3/sso/integrations"],
        "ip_allowlist": ["/v3/access_settings/whitelist"],
        "access_activity": ["/v3/access_settings/activity"],
    }


def _served(sim: Simulator, key: SimKey) -> dict[str, bool]:
    async def probe() -> dict[str, bool]:
        headers = {"Authorization": f"Bearer {key.key}"}
        async with httpx.AsyncClient(
            transport=sim.transport(), base_url="https://sim", headers=headers
        ) as client:
            served = {}
            for name, paths in _probes(sim.world).items():
                statuses = [(await client.get(path)).status_code for path in paths]
                served[name] = all(status == 200 for status in statuses)
            return served

    return asyncio.run(probe())


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(seed=21, accounts=1, teammates=6, pending=1, subusers=2)


def _doctor(
    key: SimKey, monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[int, dict]:
    monkeypatch.setenv("SMP_TEST_SG_KEY", key.key)
    result = CliRunner().invoke(app, ["doctor", "--key-env", "SMP_TEST_SG_KEY", *args])
    assert key.key not in result.output
    assert key.key.split(".")[2] not in result.output
    return result.exit_code, json.loads(result.stdout)


def _check(report: dict, code: int, key: SimKey, served: dict[str, bool]) -> None:
    if key.kind == "revoked":
        assert code == 2
        assert report["valid"] is False
        assert "revoked" in report["warnings"][0]
        return
    assert code == 0
    assert report["valid"] is True
    assert report["key_id"] == key.key_id
    assert report["kind"] == DOCTOR_KIND[key.kind]
    assert report["capabilities"] == served
    # What the doctor says is missing is exactly what the key lacks.
    for name, missing in report["missing"].items():
        assert not served[name]
        assert not set(missing) & set(key.scopes)
    expected_account = key.account if "user.username.read" in key.scopes else None
    assert report["account"] == expected_account
    writes = {s for s in key.scopes if s.endswith((".create", ".update", ".delete"))}
    assert writes <= set(report["write_scopes"]) <= set(key.scopes)


@pytest.mark.parametrize("kind", KEY_KINDS)
def test_doctor_with_each_key_kind(
    world: World, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    sim = Simulator(world)
    key = key_of(world, kind)
    served = _served(sim, key)
    monkeypatch.setattr(doctor_cmd, "transport_factory", sim.transport)
    code, report = _doctor(key, monkeypatch, "--json")
    _check(report, code, key, served)
    # The full key can read everything but invoices and validations: a sanity
    # check that the probes do tell capabilities apart.
    if kind == "full":
        assert served["members"]
        assert not served["invoices"]


@pytest.mark.loopback
def test_doctor_over_loopback_with_base_url(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = Simulator(world)
    expected = {kind: _served(sim, key_of(world, kind)) for kind in KEY_KINDS}
    sim.requests.clear()
    with serve_simulator(sim) as base_url:
        for kind in KEY_KINDS:
            key = key_of(world, kind)
            code, report = _doctor(key, monkeypatch, "--json", "--base-url", base_url)
            _check(report, code, key, expected[kind])
    # Every key reached the server over the socket, and only with GETs.
    assert {r.method for r in sim.requests} == {"GET"}
    assert {r.key_id for r in sim.requests} == {
        key_of(world, kind).key_id for kind in KEY_KINDS
    }
