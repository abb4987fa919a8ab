"""Rate limits and retries under a controlled clock (no real sleeping)."""

from __future__ import annotations

import asyncio
from email.utils import formatdate

import httpx
import pytest
from tests.support.fakes import (
    PROXY_502_HTML,
    UNAUTHORIZED_REVOKED,
    FakeClock,
    Router,
    errors_response,
    json_response,
    make_client,
    rate_limit_headers,
    teammate,
)

from smp.sendgrid import (
    AuthenticationError,
    ConcurrencyLimiter,
    MissingScopeError,
    RateLimitedError,
    RequestTimeout,
    RetryPolicy,
    ServerError,
    TransportError,
)

SCOPES_OK = {"scopes": ["teammates.read"]}


async def test_429_waits_until_reset_not_a_blind_backoff() -> None:
    clock = FakeClock()
    reset = clock.wall() + 3
    router = Router(
        {
            "/v3/scopes": [
                errors_response(
                    429,
                    "too many requests",
                    rate_limit_headers(remaining=0, reset=reset),
                ),
                json_response(SCOPES_OK),
            ]
        }
    )
    policy = RetryPolicy(jitter=0.1, base_backoff_s=10.0)  # real jitter source
    async with make_client(router, clock=clock, policy=policy) as client:
        assert await client.scopes() == ["teammates.read"]
        assert client.counters.rate_limit_waits == 1
        assert client.counters.retries == 1
    (waited,) = clock.sleeps
    assert 3.0 <= waited <= 3.3
    assert client.counters.rate_limit_wait_s == pytest.approx(waited)


async def test_429_reset_is_measured_on_the_servers_clock_when_it_says_the_date() -> (
    None
):
    clock = FakeClock()  # our clock is 100 s behind SendGrid's
    server_now = clock.wall() + 100
    headers = rate_limit_headers(remaining=0, reset=server_now + 5)
    headers["Date"] = formatdate(server_now, usegmt=True)
    router = Router(
        {
            "/v3/scopes": [
                errors_response(429, "too many requests", headers),
                json_response(SCOPES_OK),
            ]
        }
    )
    async with make_client(router, clock=clock) as client:
        await client.scopes()
    assert clock.sleeps == [pytest.approx(5.0)]


@pytest.mark.parametrize("reset", ["yesterday", "", "-5", "nan", "past"])
async def test_429_with_a_useless_reset_falls_back_to_backoff(reset: str) -> None:
    clock = FakeClock()
    value = str(int(clock.wall() - 30)) if reset == "past" else reset
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": value}
    router = Router(
        {
            "/v3/scopes": [
                errors_response(429, "too many requests", headers),
                json_response(SCOPES_OK),
            ]
        }
    )
    policy = RetryPolicy(base_backoff_s=0.5, rng=lambda: 0.0)
    async with make_client(router, clock=clock, policy=policy) as client:
        await client.scopes()
    assert clock.sleeps == [0.5]


async def test_429_wait_is_capped() -> None:
    clock = FakeClock()
    headers = rate_limit_headers(remaining=0, reset=clock.wall() + 3600)
    router = Router(
        {"/v3/scopes": [errors_response(429, "too many requests", headers)] * 2}
    )
    policy = RetryPolicy(max_rate_limit_wait_s=60.0, max_attempts=2, rng=lambda: 0.0)
    async with make_client(router, clock=clock, policy=policy) as client:
        with pytest.raises(RateLimitedError) as caught:
            await client.scopes()
    assert clock.sleeps == [60.0]
    assert caught.value.reset_at == int(clock.wall() - 60 + 3600)
    assert caught.value.messages == ["too many requests"]


async def test_remaining_zero_paces_the_next_call_to_that_path() -> None:
    clock = FakeClock()
    exhausted = rate_limit_headers(remaining=0, reset=clock.wall() + 7)
    router = Router(
        {
            "/v3/scopes": [
                json_response(SCOPES_OK, headers=exhausted),
                json_response(SCOPES_OK),
            ],
            "/v3/teammates/pending": [json_response({"result": []})],
        }
    )
    async with make_client(router, clock=clock) as client:
        await client.scopes()
        await client.pending_invites()  # another endpoint: not held back
        assert clock.sleeps == []
        await client.scopes()
        assert clock.sleeps == [pytest.approx(7.0)]
        assert client.counters.rate_limit_waits == 1


async def test_5xx_is_retried_with_growing_backoff_then_succeeds() -> None:
    clock = FakeClock()
    router = Router(
        {
            "/v3/scopes": [
                errors_response(500, "internal error"),
                httpx.Response(503),
                httpx.Response(
                    502, content=PROXY_502_HTML, headers={"content-type": "text/html"}
                ),
                json_response(SCOPES_OK),
            ]
        }
    )
    policy = RetryPolicy(base_backoff_s=0.5, rng=lambda: 0.0)
    async with make_client(router, clock=clock, policy=policy) as client:
        assert await client.scopes() == ["teammates.read"]
        assert client.counters.requests == 4
        assert client.counters.retries == 3
    assert clock.sleeps == [0.5, 1.0, 2.0]


async def test_html_502_that_persists_is_a_clear_server_error() -> None:
    html = httpx.Response(
        502, content=PROXY_502_HTML, headers={"content-type": "text/html"}
    )
    router = Router({"/v3/scopes": lambda request: html})
    policy = RetryPolicy(max_attempts=3, rng=lambda: 0.0)
    async with make_client(router, policy=policy) as client:
        with pytest.raises(ServerError) as caught:
            await client.scopes()
    assert caught.value.status == 502
    assert f"non-JSON body (text/html, {len(PROXY_502_HTML)} bytes)" in str(
        caught.value
    )
    assert len(router.requests) == 3


async def test_retries_stop_at_the_total_deadline() -> None:
    clock = FakeClock()
    router = Router({"/v3/scopes": lambda request: httpx.Response(500)})
    policy = RetryPolicy(
        max_attempts=100,
        base_backoff_s=1.0,
        max_backoff_s=4.0,
        deadline_s=10.0,
        rng=lambda: 0.0,
    )
    async with make_client(router, clock=clock, policy=policy) as client:
        with pytest.raises(ServerError):
            await client.scopes()
    assert sum(clock.sleeps) <= 10.0
    assert clock.sleeps == [1.0, 2.0, 4.0]  # the next 4 s would pass the deadline


@pytest.mark.parametrize(
    "body",
    [
        UNAUTHORIZED_REVOKED,
        {"errors": [{"field": None, "message": "authorization required"}]},
    ],
)
async def test_401_fails_at_once(body: dict[str, object]) -> None:
    clock = FakeClock()
    router = Router({"/v3/scopes": lambda request: json_response(body, 401)})
    async with make_client(router, clock=clock) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.scopes()
    assert len(router.requests) == 1
    assert clock.sleeps == []
    expected = body["errors"][0]["message"]  # type: ignore[index]
    assert caught.value.messages == [expected]
    assert str(caught.value) == f"GET /v3/scopes: HTTP 401: {expected}"


async def test_403_on_one_endpoint_leaves_the_others_working() -> None:
    router = Router(
        {
            "/v3/teammates": lambda request: errors_response(403, "access forbidden"),
            "/v3/user/username": [json_response({"username": "acme", "user_id": 7})],
        }
    )
    async with make_client(router) as client:
        with pytest.raises(MissingScopeError) as caught:
            [t async for t in client.teammates()]
        assert (await client.user_username()).username == "acme"
    assert caught.value.scopes == ("teammates.read",)
    assert caught.value.endpoint == "/v3/teammates"
    assert "needs scope teammates.read" in str(caught.value)
    assert router.paths() == ["/v3/teammates", "/v3/user/username"]


async def test_403_without_field_is_parsed_too() -> None:
    body = {"errors": [{"message": "access forbidden"}]}
    router = Router({"/v3/user/credits": [json_response(body, 403)]})
    async with make_client(router) as client:
        with pytest.raises(MissingScopeError) as caught:
            await client.user_credits()
    assert caught.value.messages == ["access forbidden"]


async def test_connection_errors_and_timeouts_are_retried_then_reported() -> None:
    calls: list[str] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) == 1:
            raise httpx.ConnectError("connection refused", request=request)
        if len(calls) == 2:
            raise httpx.ReadTimeout("slow", request=request)
        return json_response(SCOPES_OK)

    async with make_client(Router({"/v3/scopes": flaky})) as client:
        assert await client.scopes() == ["teammates.read"]
        assert client.counters.retries == 2

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("down", request=request)

    policy = RetryPolicy(max_attempts=2, rng=lambda: 0.0)
    async with make_client(Router({"/v3/scopes": down}), policy=policy) as client:
        with pytest.raises(RequestTimeout, match="timed out"):
            await client.scopes()

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    refusals = Router({"/v3/scopes": refused})
    patient = RetryPolicy(max_attempts=6, rng=lambda: 0.0)
    async with make_client(refusals, policy=patient) as client:
        with pytest.raises(
            TransportError, match=r"^cannot connect to api\.sendgrid\.com$"
        ):
            await client.scopes()
    # A refusal gets one more try, not the budget a timeout or a 5xx gets.
    assert len(refusals.requests) == patient.connect_attempts == 2


async def test_per_key_concurrency_is_capped() -> None:
    in_flight = 0
    peak = 0

    class SlowTransport(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.002)
            in_flight -= 1
            return json_response(teammate(1) | {"scopes": []})

    limiter = ConcurrencyLimiter(global_limit=10, per_key_limit=3)
    async with make_client(SlowTransport(), limiter=limiter) as client:
        await asyncio.gather(*(client.teammate(f"user{n}") for n in range(12)))
    assert peak == 3
