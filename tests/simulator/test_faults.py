"""Every fault kind, in process through sim.transport()."""

from __future__ import annotations

import time

import httpx
import pytest
from tests.support.keys import auth, key_of

from smp.simulator import FaultRule, FaultSpecError, Simulator, World, parse_fault_spec


async def test_latency_with_jitter(world: World, sim, client) -> None:
    sim.add_fault(
        FaultRule(kind="latency", latency_ms=60, jitter_ms=20, path="/v3/scopes")
    )
    started = time.perf_counter()
    reply = await client.get("/v3/scopes", headers=auth(key_of(world, "full")))
    elapsed = time.perf_counter() - started
    assert reply.status_code == 200
    assert 0.06 <= elapsed < 1.0


@pytest.mark.parametrize("html", [False, True])
async def test_status_faults_json_or_html(world: World, sim, client, html) -> None:
    sim.add_fault(FaultRule(kind="status", status=503, html=html, count=1))
    first = await client.get("/v3/scopes", headers=auth(key_of(world, "full")))
    second = await client.get("/v3/scopes", headers=auth(key_of(world, "full")))
    assert first.status_code == 503
    assert second.status_code == 200  # count=1
    if html:
        assert first.headers["content-type"].startswith("text/html")
        assert "<html>" in first.text
    else:
        assert first.json()["errors"][0]["message"] == "service unavailable"


async def test_reset_and_timeout_raise_socket_errors(world: World, sim, client) -> None:
    sim.add_fault(FaultRule(kind="reset", path="/v3/teammates"))
    sim.add_fault(FaultRule(kind="timeout", path="/v3/user/*"))
    with pytest.raises(httpx.ReadError):
        await client.get("/v3/teammates", headers=auth(key_of(world, "full")))
    with pytest.raises(httpx.ReadTimeout):
        await client.get("/v3/user/email", headers=auth(key_of(world, "full")))
    assert [(r.fault, r.status) for r in sim.requests] == [
        ("reset", None),
        ("timeout", None),
    ]


async def test_429_burst(world: World, sim, client) -> None:
    sim.add_fault(FaultRule(kind="429", count=2))
    statuses = [
        (
            await client.get("/v3/scopes", headers=auth(key_of(world, "full")))
        ).status_code
        for _ in range(3)
    ]
    assert statuses == [429, 429, 200]


async def test_truncated_and_invalid_json(world: World, sim, client) -> None:
    key = key_of(world, "full")
    sim.add_fault(
        FaultRule(kind="truncated_json", path="/v3/user/email", key_id=key.key_id)
    )
    sim.add_fault(FaultRule(kind="invalid_json", path="/v3/user/profile"))
    for path in ("/v3/user/email", "/v3/user/profile"):
        reply = await client.get(path, headers=auth(key))
        assert reply.status_code == 200
        with pytest.raises(ValueError):
            reply.json()
    other_key = await client.get(
        "/v3/user/email", headers=auth(key_of(world, "full", world.accounts[1]))
    )
    assert other_key.json() == {"email": world.accounts[1].email}


async def test_key_revoked_after_n_requests(world: World, sim, client) -> None:
    key = key_of(world, "full")
    sim.add_fault(FaultRule(kind="revoke_after", key_id=key.key_id, after=2))
    statuses = [
        (await client.get("/v3/scopes", headers=auth(key))).status_code
        for _ in range(4)
    ]
    assert statuses == [200, 200, 401, 401]


async def test_probability_is_deterministic_with_a_seed(world: World) -> None:
    async def run() -> list[int]:
        sim = Simulator(world, rate_limit=None)
        sim.add_fault(FaultRule(kind="status", status=500, probability=0.5, seed=42))
        async with httpx.AsyncClient(
            transport=sim.transport(), base_url="http://sg"
        ) as c:
            return [
                (
                    await c.get("/v3/scopes", headers=auth(key_of(world, "full")))
                ).status_code
                for _ in range(30)
            ]

    first, second = await run(), await run()
    assert first == second
    assert 500 in first
    assert 200 in first


def test_fault_specs_parse_and_refuse_bad_fields() -> None:
    rule = parse_fault_spec(
        "kind=status,status=503,path=/v3/teammates,probability=0.1,html=true"
    )
    assert (rule.kind, rule.status, rule.path, rule.probability, rule.html) == (
        "status",
        503,
        "/v3/teammates",
        0.1,
        True,
    )
    with pytest.raises(FaultSpecError, match="colour"):
        parse_fault_spec("kind=status,colour=red")
    with pytest.raises(FaultSpecError, match="probability"):
        parse_fault_spec("kind=reset,probability=2")
