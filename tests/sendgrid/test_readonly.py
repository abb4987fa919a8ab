"""Only GET can leave the client, and a redirect never takes the key elsewhere."""

from __future__ import annotations

import inspect

import httpx
import pytest
from tests.support.fakes import SECRET, Router, json_response, make_client

from smp.sendgrid import ReadOnlyViolation, RedirectRefused, SendGridClient


class RecordingTransport(httpx.AsyncBaseTransport):
    """Records every request that reaches the network layer."""

    def __init__(self) -> None:
        self.sent: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return json_response({"scopes": []})


@pytest.mark.parametrize(
    "method", ["POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
)
async def test_any_other_method_raises_before_a_byte_is_sent(method: str) -> None:
    recorder = RecordingTransport()
    async with make_client(recorder) as client:
        transport = client._core.transport  # reaching past the public API on purpose
        request = httpx.Request(
            method, "https://api.sendgrid.com/v3/api_keys", json={"name": "x"}
        )
        with pytest.raises(ReadOnlyViolation, match=f"{method} /v3/api_keys refused"):
            await transport.handle_async_request(request)
        assert recorder.sent == []
        await client.scopes()
        assert [r.method for r in recorder.sent] == ["GET"]


def test_the_client_has_no_public_method_that_could_write() -> None:
    public = {name for name, _ in inspect.getmembers(SendGridClient) if name[0] != "_"}
    for verb in ("post", "put", "patch", "delete", "create", "update", "request"):
        assert not any(name.startswith(verb) for name in public), public


async def test_a_redirect_is_refused_and_not_followed() -> None:
    router = Router(
        {
            "/v3/scopes": [
                httpx.Response(
                    302, headers={"location": "https://evil.example.net/v3/scopes"}
                )
            ]
        }
    )
    async with make_client(router) as client:
        with pytest.raises(RedirectRefused) as caught:
            await client.scopes()
    assert caught.value.target_host == "evil.example.net"
    assert "evil.example.net" in str(caught.value)
    assert SECRET not in str(caught.value)
    assert [r.url.host for r in router.requests] == ["api.sendgrid.com"]


async def test_the_key_goes_only_in_the_authorization_header() -> None:
    router = Router({"/v3/scopes": [json_response({"scopes": ["stats.read"]})]})
    async with make_client(router) as client:
        assert await client.scopes() == ["stats.read"]
        assert SECRET not in repr(client)
    (request,) = router.requests
    assert request.headers["authorization"].endswith(SECRET)
    assert SECRET not in str(request.url)
