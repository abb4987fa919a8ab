"""The network transport against a raw socket server that answers byte for byte."""

from __future__ import annotations

import asyncio
import gzip
import socket
import ssl
import struct
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from tests.security.serving import self_signed
from tests.sendgrid.fakes import make_client

from smp.sendgrid import ProtocolError, ReadOnlyViolation
from smp.sendgrid.http11 import MAX_BODY_BYTES, Http11Transport

Answer = Callable[[bytes], bytes | None]  # request head → response bytes (None: hang)
RESET = b"<reset the connection>"
LINGER_0 = struct.pack("ii", 1, 0)


def ok(body: bytes, *extra: str) -> bytes:
    head = ["HTTP/1.1 200 OK", f"Content-Length: {len(body)}", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


@dataclass
class RawServer:
    """Serves `answers` in turn; counts connections and keeps each request head."""

    answers: list[Answer]
    close_after_each: bool = False
    connections: int = 0
    heads: list[bytes] = field(default_factory=list)
    url: str = ""

    async def handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.connections += 1
        try:
            while self.answers:
                head = await reader.readuntil(b"\r\n\r\n")
                self.heads.append(head)
                reply = self.answers.pop(0)(head)
                if reply == RESET:
                    sock = writer.get_extra_info("socket")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_0)
                    writer.transport.abort()  # an RST, not a FIN
                    return
                if reply is None:
                    await asyncio.sleep(30)
                    return
                writer.write(reply)
                await writer.drain()
                if self.close_after_each or reply.startswith(b"HTTP/1.0"):
                    break  # (an HTTP/1.0 body without a length ends here)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def serving(
    server: RawServer, tls: ssl.SSLContext | None = None
) -> AsyncIterator[RawServer]:
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=tls)
    port = listener.sockets[0].getsockname()[1]
    server.url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    async with listener:
        yield server
        listener.close()


def get(url: str, timeout: float = 5.0, **headers: str) -> httpx.Request:
    return httpx.Request(
        "GET",
        url,
        headers=headers,
        extensions={"timeout": httpx.Timeout(timeout).as_dict()},
    )


async def fetch(transport: Http11Transport, request: httpx.Request) -> httpx.Response:
    response = await transport.handle_async_request(request)
    await response.aread()
    return response


async def test_keep_alive_reuses_one_connection_and_sends_a_plain_get() -> None:
    server = RawServer([lambda _: ok(b'{"a": 1}'), lambda _: ok(b'{"b": 2}')])
    transport = Http11Transport(ssl.create_default_context())
    async with serving(server):
        first = await fetch(transport, get(server.url + "/v3/scopes?limit=5"))
        second = await fetch(transport, get(server.url + "/v3/user/account"))
    await transport.aclose()
    assert (first.status_code, first.json()) == (200, {"a": 1})
    assert second.json() == {"b": 2}
    assert server.connections == 1
    request_line, *header_lines = server.heads[0].decode().split("\r\n")
    assert request_line == "GET /v3/scopes?limit=5 HTTP/1.1"
    assert f"Host: {server.url.removeprefix('http://')}" in header_lines


async def test_a_chunked_and_gzipped_body_is_decoded() -> None:
    packed = gzip.compress(b'{"result": [1, 2, 3]}')
    chunks = b"".join(
        f"{len(part):x};ext=1\r\n".encode() + part + b"\r\n"
        for part in (packed[:7], packed[7:])
    )
    reply = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Encoding: gzip\r\n\r\n" + chunks + b"0\r\nX-Trailer: t\r\n\r\n"
    )
    server = RawServer([lambda _: reply, lambda _: ok(b"{}")])
    transport = Http11Transport(ssl.create_default_context())
    async with serving(server):
        response = await fetch(transport, get(server.url + "/v3/teammates"))
        after = await fetch(transport, get(server.url + "/v3/teammates"))
    await transport.aclose()
    assert response.json() == {"result": [1, 2, 3]}
    assert after.json() == {}
    assert server.connections == 1  # the chunked body was read to its end


async def test_an_interim_100_answer_is_skipped() -> None:
    server = RawServer([lambda _: b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b"[]")])
    transport = Http11Transport(ssl.create_default_context())
    async with serving(server):
        response = await fetch(transport, get(server.url + "/v3/x"))
    await transport.aclose()
    assert (response.status_code, response.json()) == (200, [])


async def test_connection_close_and_http_1_0_are_not_reused() -> None:
    answers: list[Answer] = [
        lambda _: ok(b"1", "Connection: close"),
        lambda _: b"HTTP/1.0 200 OK\r\n\r\n2",  # no length: ends with the socket
        lambda _: ok(b"3"),
    ]
    # The server would go on after "Connection: close": only a client that
    # honours it opens three connections.
    server = RawServer(answers)
    transport = Http11Transport(ssl.create_default_context())
    async with serving(server):
        bodies = [
            (await fetch(transport, get(server.url + "/"))).content for _ in range(3)
        ]
    await transport.aclose()
    assert bodies == [b"1", b"2", b"3"]
    assert server.connections == 3


async def test_an_idle_connection_the_server_dropped_is_replaced_once() -> None:
    # The server answers once per connection and closes, without saying so:
    # the next GET finds the kept connection dead and retries on a new one.
    server = RawServer([lambda _: ok(b"1"), lambda _: ok(b"2")], close_after_each=True)
    transport = Http11Transport(ssl.create_default_context())
    async with serving(server):
        first = await fetch(transport, get(server.url + "/"))
        await asyncio.sleep(0.05)
        second = await fetch(transport, get(server.url + "/"))
    await transport.aclose()
    assert (first.content, second.content) == (b"1", b"2")
    assert server.connections == 2


PROTOCOL = httpx.RemoteProtocolError


async def test_a_kept_connection_the_server_resets_is_replaced_once() -> None:
    server = RawServer([lambda _: ok(b"1"), lambda _: RESET, lambda _: ok(b"2")])
    transport = Http11Transport(ssl.create_default_context())
    async with serving(server):
        first = await fetch(transport, get(server.url + "/"))
        second = await fetch(transport, get(server.url + "/"))
        assert server.connections == 2
        # Reset again on the new connection too: no third try, an error.
        server.answers[:] = [lambda _: RESET, lambda _: RESET]
        with pytest.raises(httpx.RemoteProtocolError):
            await fetch(transport, get(server.url + "/"))
        assert server.connections == 3
    await transport.aclose()
    assert (first.content, second.content) == (b"1", b"2")


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (b"<html>oops</html>\r\n\r\n", PROTOCOL),
        (b"HTTP/1.1 abc Nope\r\n\r\n", PROTOCOL),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", PROTOCOL),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n", PROTOCOL),
        (
            f"HTTP/1.1 200 OK\r\nContent-Length: {MAX_BODY_BYTES + 1}\r\n\r\n".encode(),
            PROTOCOL,
        ),
        (b"HTTP/1.1 200 OK\r\n\r\nkept alive but no length", PROTOCOL),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", PROTOCOL),
        (b"HTTP/1.1 200 OK\r\nX-Big: " + b"x" * 70_000 + b"\r\n\r\n", PROTOCOL),
        # The server hangs up 95 bytes early: a lost connection, not bad syntax.
        (b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"cut', httpx.ReadError),
    ],
)
async def test_a_broken_response_is_a_transport_error(
    reply: bytes, error: type[httpx.TransportError]
) -> None:
    server = RawServer([lambda _: reply], close_after_each=True)
    transport = Http11Transport(ssl.create_default_context())
    async with serving(server):
        with pytest.raises(error):
            await fetch(transport, get(server.url + "/"))
    await transport.aclose()


async def test_a_server_that_never_answers_times_out_and_is_not_reused() -> None:
    server = RawServer([lambda _: None, lambda _: ok(b"late")])
    transport = Http11Transport(ssl.create_default_context())
    async with serving(server):
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(httpx.ReadTimeout):
            await fetch(transport, get(server.url + "/", timeout=0.2))
        assert loop.time() - started < 2
        response = await fetch(transport, get(server.url + "/"))
    await transport.aclose()
    assert response.content == b"late"
    assert server.connections == 2


async def test_a_cancelled_request_leaves_no_connection_half_read() -> None:
    server = RawServer([lambda _: None, lambda _: ok(b"next")])
    transport = Http11Transport(ssl.create_default_context())
    async with serving(server):
        task = asyncio.create_task(fetch(transport, get(server.url + "/")))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        response = await fetch(transport, get(server.url + "/"))
    await transport.aclose()
    assert response.content == b"next"
    assert server.connections == 2


async def test_a_refused_connection_is_a_connect_error() -> None:
    listener = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    listener.close()
    await listener.wait_closed()
    transport = Http11Transport(ssl.create_default_context())
    with pytest.raises(httpx.ConnectError):
        await fetch(transport, get(f"http://127.0.0.1:{port}/"))


async def test_a_header_value_with_a_line_break_sends_nothing() -> None:
    server = RawServer([lambda _: ok(b"{}")])
    transport = Http11Transport(ssl.create_default_context())
    async with serving(server):
        smuggled = get(server.url + "/", **{"on-behalf-of": "x"})
        smuggled.headers["on-behalf-of"] = "x\r\nDELETE /v3/api_keys HTTP/1.1"
        with pytest.raises(httpx.LocalProtocolError):
            await fetch(transport, smuggled)
    await transport.aclose()
    assert server.connections == 0
    assert server.heads == []


async def test_the_client_reports_an_unsendable_header_at_once() -> None:
    # A subuser name from SendGrid goes into on-behalf-of: one with a line
    # break is refused before sending, not retried as a network failure.
    server = RawServer([lambda _: ok(b"{}")])
    async with serving(server):
        client = make_client(
            Http11Transport(ssl.create_default_context()), base_url=server.url
        )
        async with client:
            with pytest.raises(ProtocolError, match="the request cannot be sent") as e:
                await client.user_account(on_behalf_of="sub\r\nX-Evil: 1")
            assert client.counters.retries == 0
    assert "X-Evil" not in str(e.value)  # header values stay out of messages
    assert server.heads == []


async def test_only_get_is_sent() -> None:
    transport = Http11Transport(ssl.create_default_context())
    with pytest.raises(ReadOnlyViolation):
        await transport.handle_async_request(
            httpx.Request("POST", "http://127.0.0.1:9/v3/api_keys")
        )


async def test_https_verifies_the_certificate(tmp_path: Path) -> None:
    tls = self_signed(tmp_path)
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(tls.cert, tls.key)
    server = RawServer([lambda _: ok(b'{"tls": true}')])
    async with serving(server, tls=served):
        trusting = Http11Transport(tls.context())
        response = await fetch(trusting, get(server.url + "/v3/scopes"))
        await trusting.aclose()
        stranger = Http11Transport(ssl.create_default_context())
        with pytest.raises(httpx.ConnectError):
            await fetch(stranger, get(server.url + "/v3/scopes"))
    assert response.json() == {"tls": True}
