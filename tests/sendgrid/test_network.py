"""The network transport on real sockets: GET only, failures in plain words, fast."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from tests.support.fakes import SECRET, make_client
from tests.support.ports import free_port
from tests.support.simulator import serve_simulator
from typer.testing import CliRunner

from smp.cli.main import app
from smp.sendgrid import (
    ApiKey,
    ConnectionFailed,
    ProtocolError,
    ReadOnlyViolation,
    RetryPolicy,
    SendGridClient,
)
from smp.sendgrid.network import NetworkTransport, proxy_for, shown
from smp.simulator import Simulator, generate_world

pytestmark = pytest.mark.loopback


class Listener:
    """A loopback server that answers nothing and notes every byte it gets."""

    def __init__(self) -> None:
        self.connections = 0
        self.received = b""
        self.url = ""
        self.handlers: list[asyncio.Task[None]] = []

    async def handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.connections += 1
        self.handlers.append(asyncio.current_task())  # type: ignore[arg-type]
        self.received += await reader.read(65536)
        writer.close()
        await writer.wait_closed()


@asynccontextmanager
async def listening() -> AsyncIterator[Listener]:
    listener = Listener()
    server = await asyncio.start_server(listener.handle, "127.0.0.1", 0)
    listener.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    async with server:
        yield listener
        # The client has hung up by now; let each handler see it and close.
        await asyncio.wait_for(asyncio.gather(*listener.handlers), 5)


@pytest.mark.parametrize("method", ["POST", "DELETE", "PATCH"])
async def test_the_network_transport_itself_sends_only_get(method: str) -> None:
    async with listening() as server:
        transport = NetworkTransport(server.url, environ={})
        request = httpx.Request(method, server.url + "/v3/api_keys", json={"a": 1})
        with pytest.raises(ReadOnlyViolation, match=f"{method} refused"):
            await transport.handle_async_request(request)
        await transport.aclose()
        await asyncio.sleep(0)  # let a connection, had there been one, arrive
    assert (server.connections, server.received) == (0, b"")


async def test_a_header_with_a_line_break_is_refused_at_once() -> None:
    # A subuser name from SendGrid goes into on-behalf-of: one with a line
    # break is refused before a byte is sent, not retried as a network failure.
    async with listening() as server:
        transport = NetworkTransport(server.url, environ={})
        async with make_client(transport, base_url=server.url) as client:
            with pytest.raises(ProtocolError, match="cannot be sent") as caught:
                await client.user_account(on_behalf_of="sub\r\nX-Evil: 1")
            assert client.counters.retries == 0
    assert "X-Evil" not in str(caught.value)
    assert server.received == b""


async def test_a_refused_connection_is_reported_in_plain_words_within_seconds() -> None:
    port = free_port()
    client = SendGridClient(
        ApiKey.parse("SG." + "k" * 22 + "." + "s" * 43),
        base_url=f"http://127.0.0.1:{port}",
        policy=RetryPolicy(),  # the default budget, on the real clock
    )
    started = time.monotonic()
    async with client:
        with pytest.raises(ConnectionFailed) as caught:
            await client.scopes()
    assert time.monotonic() - started < 5
    refused = f"cannot connect to 127.0.0.1:{port}: connection refused"
    assert str(caught.value) == refused
    assert client.counters.requests == 2  # one more try, not the 5xx budget


def test_a_sync_whose_host_went_away_ends_within_15_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMP_HOME", str(tmp_path))
    monkeypatch.delenv("SMP_DATABASE_URL", raising=False)
    monkeypatch.delenv("SMP_SECRET_KEY", raising=False)
    world = generate_world(seed=8, accounts=1, teammates=3, pending=0, subusers=1)
    key = next(k for k in world.keys if k.kind == "full")
    monkeypatch.setenv("SG_KEY", key.key)
    runner = CliRunner()
    with serve_simulator(Simulator(world)) as base_url:
        connect = ["connect", "sendgrid", "Gone", "--key-env", "SG_KEY"]
        result = runner.invoke(app, [*connect, "--base-url", base_url])
        assert result.exit_code == 0, result.output
    started = time.monotonic()
    result = runner.invoke(app, ["sync", "--all", "--json"])
    elapsed = time.monotonic() - started
    assert elapsed < 15
    (run,) = json.loads(result.stdout)["runs"]
    errors = {c["error"] for c in run["capabilities"].values() if c["error"]}
    where = httpx.URL(base_url).netloc.decode()
    assert f"cannot connect to {where}: connection refused" in " ".join(errors)
    assert "ConnectError" not in result.output


def test_proxy_choice_follows_the_environment() -> None:
    target = httpx.URL("https://api.sendgrid.com")
    corp = {"HTTPS_PROXY": "http://u:p@proxy.corp:3128"}
    assert proxy_for(target, corp) == httpx.URL("http://u:p@proxy.corp:3128")
    assert proxy_for(target, {"https_proxy": "proxy.corp:3128"}) is not None
    assert proxy_for(target, {"HTTP_PROXY": "http://proxy.corp:3128"}) is None
    for bypass in ("*", "sendgrid.com", ".sendgrid.com", "x.org, api.sendgrid.com"):
        assert proxy_for(target, {**corp, "NO_PROXY": bypass}) is None, bypass
    for kept in ("grid.com", "api.sendgrid.com:8443", "10.0.0.0/8"):
        assert proxy_for(target, {**corp, "NO_PROXY": kept}) is not None, kept
    local = httpx.URL("http://10.1.2.3:8025")
    in_range = {"HTTP_PROXY": "http://p:1", "NO_PROXY": "10.0.0.0/8"}
    assert proxy_for(local, in_range) is None
    ipv6 = httpx.URL("http://[::1]:8025")
    assert proxy_for(ipv6, {"HTTP_PROXY": "http://p:1", "NO_PROXY": "::1"}) is None
    # SMP_PROXY is SMP's own: it wins over the others, and "none" turns them off.
    own = {**corp, "NO_PROXY": "*", "SMP_PROXY": "http://smp-proxy:8080"}
    assert proxy_for(target, own) == httpx.URL("http://smp-proxy:8080")
    assert proxy_for(target, {**corp, "SMP_PROXY": "none"}) is None


def test_a_proxy_is_shown_without_its_credentials() -> None:
    assert shown(httpx.URL(f"http://user:{SECRET}@proxy.corp:3128")) == (
        "http://proxy.corp:3128"
    )
    assert shown(httpx.URL("https://[fd00::1]")) == "https://[fd00::1]:443"


@pytest.mark.parametrize(
    "value", ["ftp://proxy.corp", "http://:3128", "socks5://proxy.corp:1080"]
)
async def test_an_unusable_proxy_setting_is_named_once_without_its_value(
    value: str,
) -> None:
    transport = NetworkTransport(
        "https://api.sendgrid.com", environ={"HTTPS_PROXY": value}
    )
    async with make_client(transport) as client:
        with pytest.raises(ConnectionFailed) as caught:
            await client.scopes()
        assert client.counters.requests == 1  # not retried: it would fail again
    assert str(caught.value).startswith("HTTPS_PROXY must be an http")
    assert value not in str(caught.value)
