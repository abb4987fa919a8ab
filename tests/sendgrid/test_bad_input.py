"""Bad and odd answers become clear errors; tolerated variants become one shape."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import httpx
import pytest
from tests.support.fakes import RAW_KEY, Router, json_response, make_client, teammate

from smp.sendgrid import ApiKey, ProtocolError, SendGridClient


def one(path: str, response: httpx.Response) -> Router:
    return Router({path: [response]})


@pytest.mark.parametrize(
    ("response", "reason", "tries"),
    [
        # Unreadable bodies may be whole next time: tried until the budget (6).
        (httpx.Response(200), "HTTP 200 with an empty body", 6),
        (httpx.Response(200, content=b"  \n"), "HTTP 200 with an empty body", 6),
        (
            httpx.Response(
                200,
                content=b"<html>login</html>",
                headers={"content-type": "text/html"},
            ),
            "expected JSON, got text/html (18 bytes)",
            6,
        ),
        # Readable JSON of the wrong kind would come back the same: not retried.
        (json_response(["a"]), "expected an object with 'scopes'", 1),
        (json_response({"scopes": {"a": 1}}), "unexpected shape: 1 invalid field", 1),
        (json_response({"scopes": None}), "unexpected shape", 1),
        (
            json_response({"errors": [{"message": "oops", "field": None}]}),
            "error body with a success status: oops",
            1,
        ),
    ],
)
async def test_unusable_answers_to_scopes(
    response: httpx.Response, reason: str, tries: int
) -> None:
    router = Router({"/v3/scopes": lambda request: response})
    async with make_client(router) as client:
        with pytest.raises(ProtocolError) as caught:
            await client.scopes()
    assert reason in str(caught.value)
    assert str(caught.value).startswith("GET /v3/scopes: ")
    assert "\n" not in str(caught.value)
    assert len(router.requests) == tries
    assert client.counters.retries == tries - 1


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_a_body_that_does_not_decode_is_a_protocol_error(encoding: str) -> None:
    answer = httpx.Response(
        200,
        headers={"content-type": "application/json", "content-encoding": encoding},
        stream=httpx.ByteStream(b'{"scopes": []}'),  # not compressed at all
    )
    router = one("/v3/scopes", answer)
    async with make_client(router) as client:
        with pytest.raises(ProtocolError, match="does not decode as its Content-Enc"):
            await client.scopes()
    assert len(router.requests) == 1  # not retried: the same bytes would come back


async def test_an_object_where_a_list_belongs() -> None:
    router = one("/v3/subusers", json_response({"id": 1, "username": "x"}))
    async with make_client(router) as client:
        with pytest.raises(ProtocolError, match="expected a list under"):
            [s async for s in client.subusers()]


async def test_a_list_where_an_object_belongs() -> None:
    router = one("/v3/user/account", json_response([{"type": "paid"}]))
    async with make_client(router) as client:
        with pytest.raises(ProtocolError, match="expected an object"):
            await client.user_account()


async def test_missing_required_fields_name_the_place() -> None:
    broken = [teammate(1), {"email": "nobody@corp.example"}]
    router = one("/v3/teammates", json_response({"result": broken}))
    async with make_client(router) as client:
        with pytest.raises(
            ProtocolError, match=r"first at 1\.username: Field required"
        ):
            [t async for t in client.teammates()]


async def test_list_items_drop_extra_fields_single_objects_keep_them() -> None:
    row = teammate(1) | {"is_sso": True, "brand_new_field": 5, "first_name": None}
    detail = row | {"scopes": None}
    router = Router(
        {
            "/v3/teammates": [json_response({"result": [row]})],
            "/v3/teammates/user1": [json_response(detail)],
        }
    )
    async with make_client(router) as client:
        (got,) = [t async for t in client.teammates()]
        got_detail = await client.teammate("user1")
    assert got.first_name is None
    assert got.is_sso is True
    assert got.username == row["username"]
    assert got.email == row["email"]
    # Thousands of teammates a page: their unread profile fields are not built.
    assert got.model_extra is None
    assert not hasattr(got, "brand_new_field")
    assert got_detail.model_extra == {
        "phone": row["phone"],
        "company": row["company"],
        "brand_new_field": 5,
    }
    assert got_detail.scopes == []


async def test_null_result_means_an_empty_list() -> None:
    router = one("/v3/teammates", json_response({"result": None}))
    async with make_client(router) as client:
        assert [t async for t in client.teammates()] == []


async def test_null_metrics_count_as_zero() -> None:
    day = {"date": "2026-01-01", "stats": [{"metrics": {"requests": 5, "opens": None}}]}
    router = one("/v3/stats", json_response([day]))
    async with make_client(router) as client:
        (got,) = [d async for d in client.stats(dt.date(2026, 1, 1))]
    assert got.stats[0].metrics.requests == 5
    assert got.stats[0].metrics.opens == 0


@pytest.mark.parametrize(
    "payload",
    [
        {"api_key_id": "abc", "name": "smp", "scopes": ["stats.read"]},
        {"result": [{"api_key_id": "abc", "name": "smp", "scopes": ["stats.read"]}]},
    ],
)
async def test_api_key_flat_or_wrapped(payload: dict[str, Any]) -> None:
    async with make_client(one("/v3/api_keys/abc", json_response(payload))) as client:
        got = await client.api_key("abc")
    assert (got.api_key_id, got.name, got.scopes) == ("abc", "smp", ["stats.read"])


@pytest.mark.parametrize("token_field", ["token", "pending_id"])
async def test_invites_accept_token_or_pending_id(token_field: str) -> None:
    invite = {"email": "new@corp.example", "scopes": [], "is_admin": False}
    invite[token_field] = "tok-1"
    router = one("/v3/teammates/pending", json_response({"result": [invite]}))
    async with make_client(router) as client:
        (got,) = await client.pending_invites()
    assert got.invite_id == "tok-1"


EPOCH_2026_03_01 = 1772323200  # 2026-03-01T00:00:00Z


@pytest.mark.parametrize(
    ("envelope", "amount_field", "amount", "date"),
    [
        ("result", "amount", 12.5, "2026-03-01"),
        ("invoices", "total_amount", "12.50", EPOCH_2026_03_01),
        ("data", "total", "12.5", str(EPOCH_2026_03_01)),
        (None, "amount", 12.5, "2026-03-01T10:00:00Z"),
    ],
)
async def test_invoice_variants_normalise_to_one_shape(
    envelope: str | None, amount_field: str, amount: Any, date: Any
) -> None:
    invoice = {
        "id": 99,
        "invoice_number": "INV-1",
        "date": date,
        "due_date": None,
        "status": "paid",
        amount_field: amount,
        "currency": "USD",
        "unpaid_balance": 0,
    }
    payload = [invoice] if envelope is None else {envelope: [invoice]}
    router = one("/v3/billing/invoices", json_response(payload))
    async with make_client(router) as client:
        (got,) = [i async for i in client.invoices()]
    assert got.id == "99"
    assert got.date == dt.date(2026, 3, 1)
    assert got.due_date is None
    assert got.amount == Decimal("12.5")
    assert got.unpaid_balance == Decimal(0)


async def test_invoice_with_a_nonsense_amount_is_a_protocol_error() -> None:
    payload = {"result": [{"id": 1, "amount": "twelve"}]}
    router = one("/v3/billing/invoices", json_response(payload))
    async with make_client(router) as client:
        with pytest.raises(ProtocolError, match="not an amount"):
            [i async for i in client.invoices()]


async def test_on_behalf_of_and_repeated_subusers_params_are_sent() -> None:
    router = Router(
        {
            "/v3/stats": [json_response([])],
            "/v3/subusers/stats": [json_response([])],
        }
    )
    async with make_client(router) as client:
        start = dt.date(2026, 1, 1)
        [
            d
            async for d in client.stats(
                start, on_behalf_of="sub1", aggregated_by="month"
            )
        ]
        [d async for d in client.subuser_stats(["a", "b"], start)]
        with pytest.raises(ValueError, match="1 to 10"):
            client.subuser_stats([f"s{n}" for n in range(11)], start)
    stats, per_subuser = router.requests
    assert stats.headers["on-behalf-of"] == "sub1"
    assert stats.url.params["aggregated_by"] == "month"
    assert per_subuser.url.params.get_list("subusers") == ["a", "b"]
    assert "on-behalf-of" not in per_subuser.headers


@pytest.mark.parametrize(
    ("region", "base_url", "host"),
    [
        ("global", None, "api.sendgrid.com"),
        ("eu", None, "api.eu.sendgrid.com"),
        ("eu", "http://127.0.0.1:8025/", "127.0.0.1"),
    ],
)
async def test_base_url_per_key(region: str, base_url: str | None, host: str) -> None:
    router = Router({"/v3/scopes": [json_response({"scopes": []})]})
    client = SendGridClient(
        ApiKey.parse(RAW_KEY),
        region=region,
        base_url=base_url,
        transport=httpx.MockTransport(router),
    )
    async with client:
        await client.scopes()
    assert router.requests[0].url.host == host


def test_unknown_region_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown region 'us'"):
        SendGridClient(ApiKey.parse(RAW_KEY), region="us")
