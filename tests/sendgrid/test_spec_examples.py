"""The client parses the official spec's own 200 examples, value for value.

The spec files are vendored under tests/spec/ (see SOURCE.txt there).
"""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from typing import Any

from tests.support.fakes import Router, json_response, make_client
from tests.support.spec import SPEC_DIR


@cache
def example(spec: str, path: str) -> Any:
    file = SPEC_DIR / f"tsg_{spec}_v3.json"
    document = json.loads(file.read_text())
    content = document["paths"][path]["get"]["responses"]["200"]["content"]
    return content["application/json"]["examples"]["response"]["value"]


def served(path: str, payload: Any) -> Router:
    return Router({path: lambda request: json_response(payload)})


async def test_teammates_example_uses_results_and_still_parses() -> None:
    payload = example("teammates", "/v3/teammates")
    assert "results" in payload  # the spec bug the client must tolerate
    async with make_client(served("/v3/teammates", payload)) as client:
        got = [t async for t in client.teammates()]
    assert [t.username for t in got] == [t["username"] for t in payload["results"]]
    assert [t.is_admin for t in got] == [t["is_admin"] for t in payload["results"]]


async def test_pending_example_uses_pending_id() -> None:
    payload = example("teammates", "/v3/teammates/pending")
    async with make_client(served("/v3/teammates/pending", payload)) as client:
        got = await client.pending_invites()
    assert [i.invite_id for i in got] == [i["pending_id"] for i in payload["result"]]
    assert [i.expiration_date for i in got] == [
        i["expiration_date"] for i in payload["result"]
    ]


async def test_teammate_detail_example_has_scopes() -> None:
    payload = example("teammates", "/v3/teammates/{username}")
    path = "/v3/teammates/teammate1"
    async with make_client(served(path, payload)) as client:
        got = await client.teammate("teammate1")
    assert got.scopes == payload["scopes"]
    assert got.user_type == payload["user_type"]


async def test_scopes_subusers_credits_and_stats_examples() -> None:
    scopes = example("scopes", "/v3/scopes")
    subusers = example("subusers", "/v3/subusers")
    credits = example("user", "/v3/user/credits")
    stats = example("stats", "/v3/stats")
    monthly = example("subusers", "/v3/subusers/stats/monthly")
    router = Router(
        {
            "/v3/scopes": lambda r: json_response(scopes),
            "/v3/subusers": lambda r: json_response(subusers),
            "/v3/user/credits": lambda r: json_response(credits),
            "/v3/stats": lambda r: json_response(stats),
            "/v3/subusers/stats/monthly": lambda r: json_response(monthly),
        }
    )
    async with make_client(router) as client:
        assert await client.scopes() == scopes["scopes"]
        got_subusers = [s async for s in client.subusers()]
        got_credits = await client.user_credits()
        got_stats = [d async for d in client.stats(dt.date(2015, 11, 1))]
        got_monthly = [
            e async for e in client.subuser_monthly_stats(dt.date(2016, 2, 1))
        ]
    assert [(s.id, s.username) for s in got_subusers] == [
        (s["id"], s["username"]) for s in subusers
    ]
    assert got_credits.remain == credits["remain"]
    assert got_credits.next_reset == dt.date.fromisoformat(credits["next_reset"])
    assert [d.date.isoformat() for d in got_stats] == [d["date"] for d in stats]
    first_metrics = stats[0]["stats"][0]["metrics"]
    assert got_stats[0].stats[0].metrics.model_dump(include=set(first_metrics)) == (
        first_metrics
    )
    assert [e.metrics.requests for e in got_monthly] == [
        e["metrics"]["requests"] for e in monthly["stats"]
    ]


async def test_api_key_example_is_wrapped_in_result() -> None:
    payload = example("api_keys", "/v3/api_keys/{api_key_id}")
    path = "/v3/api_keys/some-apikey-id"
    async with make_client(served(path, payload)) as client:
        got = await client.api_key("some-apikey-id")
    assert got.name == payload["result"][0]["name"]
