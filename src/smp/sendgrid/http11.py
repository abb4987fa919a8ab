"""A small HTTP/1.1 keep-alive transport for GETs, on asyncio streams.

Why not httpcore: its per-request pool and h11 bookkeeping was about a sixth
of a full sync's CPU (ADR 14). SMP sends only small GETs to a few hosts, so a
pool of idle connections per origin and a strict response reader suffice.
Failures surface as httpx's own exceptions, so callers see no difference.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Iterable

import httpx

from smp.sendgrid.errors import ReadOnlyViolation

Origin = tuple[str, str, int]

MAX_BODY_BYTES = 64 * 1024 * 1024  # far above any SendGrid page; stops a runaway
MAX_HEADER_BYTES = 64 * 1024
MAX_IDLE_PER_ORIGIN = 32
_ILLEGAL_IN_FIELD = re.compile(rb"[\r\n\0]")
_ILLEGAL_IN_TARGET = re.compile(rb"[\s\0]")


class _StaleConnection(Exception):
    """A reused connection closed before answering: safe to retry a GET once."""


class _Connection:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer

    def usable(self) -> bool:
        return not self.writer.is_closing() and not self.reader.at_eof()

    def close(self) -> None:
        self.writer.close()


class Http11Transport(httpx.AsyncBaseTransport):
    """GET over HTTP/1.1 with keep-alive; the limiter upstream bounds connections."""

    def __init__(self, tls: ssl.SSLContext) -> None:
        self._tls = tls
        self._idle: dict[Origin, list[_Connection]] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "GET":
            raise ReadOnlyViolation(f"{request.method} refused: only GET is sent")
        origin = _origin(request.url)
        head = _request_head(request)
        timeouts = request.extensions.get("timeout", {})
        connect_s = timeouts.get("connect")
        read_s = timeouts.get("read")
        idle = self._take_idle(origin)
        if idle is not None:
            try:
                return await self._exchange(idle, request, head, read_s, origin)
            except _StaleConnection:
                pass  # the server closed it while idle; open a fresh one
        connection = await self._open(request, origin, connect_s)
        try:
            return await self._exchange(connection, request, head, read_s, origin)
        except _StaleConnection:
            raise httpx.RemoteProtocolError(
                "server closed the connection without answering", request=request
            ) from None

    async def aclose(self) -> None:
        idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()

    def _take_idle(self, origin: Origin) -> _Connection | None:
        pool = self._idle.get(origin)
        while pool:
            connection = pool.pop()
            if connection.usable():
                return connection
            connection.close()
        return None

    def _give_back(self, origin: Origin, connection: _Connection) -> None:
        pool = self._idle.setdefault(origin, [])
        if len(pool) < MAX_IDLE_PER_ORIGIN:
            pool.append(connection)
        else:
            connection.close()

    async def _open(
        self, request: httpx.Request, origin: Origin, connect_s: float | None
    ) -> _Connection:
        scheme, host, port = origin
        tls = self._tls if scheme == "https" else None
        try:
            async with asyncio.timeout(connect_s):
                reader, writer = await asyncio.open_connection(
                    host,
                    port,
                    ssl=tls,
                    server_hostname=host if tls else None,
                    limit=MAX_HEADER_BYTES,
                )
        except TimeoutError:
            raise httpx.ConnectTimeout("connect timed out", request=request) from None
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(type(exc).__name__, request=request) from None
        return _Connection(reader, writer)

    async def _exchange(
        self,
        connection: _Connection,
        request: httpx.Request,
        head: bytes,
        read_s: float | None,
        origin: Origin,
    ) -> httpx.Response:
        reusable = False
        try:
            async with asyncio.timeout(read_s):
                connection.writer.write(head)
                status, headers, keep = await _read_head(connection.reader)
                body = await _read_body(connection.reader, status, headers, keep)
            reusable = keep
        except TimeoutError:
            raise httpx.ReadTimeout("read timed out", request=request) from None
        except _StaleConnection:
            raise
        except _Malformed as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from None
        except asyncio.LimitOverrunError:
            raise httpx.RemoteProtocolError(
                "response head over 64 KiB", request=request
            ) from None
        except (OSError, asyncio.IncompleteReadError):
            raise httpx.ReadError("connection lost", request=request) from None
        finally:
            if not reusable:  # errors and cancellation leave bytes unread
                connection.close()
        self._give_back(origin, connection)
        return httpx.Response(
            status,
            headers=headers,
            content=body,
            request=request,
            extensions={"http_version": b"HTTP/1.1"},
        )


class _Malformed(Exception):
    """The server's bytes are not an HTTP/1.1 response."""


def _origin(url: httpx.URL) -> Origin:
    scheme = url.scheme
    if scheme not in ("http", "https"):
        raise httpx.UnsupportedProtocol(f"unsupported scheme {scheme!r}")
    return scheme, url.host, url.port or (443 if scheme == "https" else 80)


def _request_head(request: httpx.Request) -> bytes:
    target = request.url.raw_path
    parts = [b"GET ", target, b" HTTP/1.1\r\n"]
    illegal = _ILLEGAL_IN_TARGET.search(target) is not None
    for name, value in request.headers.raw:
        illegal = illegal or _ILLEGAL_IN_FIELD.search(name + value) is not None
        parts += (name, b": ", value, b"\r\n")
    if illegal:
        # A CR or LF smuggled into a header value would forge a second request.
        raise httpx.LocalProtocolError("illegal character in request head")
    parts.append(b"\r\n")
    return b"".join(parts)


async def _read_head(
    reader: asyncio.StreamReader,
) -> tuple[int, list[tuple[bytes, bytes]], bool]:
    """(status, headers, keep-alive) of the first non-1xx response."""
    while True:
        try:
            block = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                raise _StaleConnection from None
            raise
        except ConnectionResetError:
            # Reset before a byte of an answer: the server dropped a kept
            # connection (a fresh one that does this reports a protocol error).
            raise _StaleConnection from None
        status_line, *lines = block[:-4].split(b"\r\n")
        version, _, rest = status_line.partition(b" ")
        code = rest[:3]
        if version not in (b"HTTP/1.1", b"HTTP/1.0") or not code.isdigit():
            raise _Malformed("not an HTTP/1.1 status line")
        headers = [_header(line) for line in lines]
        status = int(code)
        if 100 <= status < 200:
            continue  # an interim answer; the real one follows
        connection = _values(headers, b"connection")
        keep = version == b"HTTP/1.1" and b"close" not in connection
        return status, headers, keep


def _header(line: bytes) -> tuple[bytes, bytes]:
    name, colon, value = line.partition(b":")
    if not colon or not name or name != name.strip():
        raise _Malformed("malformed header line")
    return name, value.strip()


def _values(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> bytes:
    return b",".join(v.lower() for k, v in headers if k.lower() == name)


async def _read_body(
    reader: asyncio.StreamReader,
    status: int,
    headers: list[tuple[bytes, bytes]],
    keep: bool,
) -> bytes:
    if status in (204, 304):
        return b""
    if b"chunked" in _values(headers, b"transfer-encoding"):
        return await _read_chunked(reader)
    length = _values(headers, b"content-length")
    if length:
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            raise _Malformed("unusable Content-Length")
        return await reader.readexactly(int(length))
    if keep:
        raise _Malformed("a kept-alive response without a length")
    parts: list[bytes] = []
    total = 0
    while part := await reader.read(65536):  # the body ends with the connection
        total += len(part)
        if total > MAX_BODY_BYTES:
            raise _Malformed("response body too large")
        parts.append(part)
    return b"".join(parts)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size_text = size_line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise _Malformed("bad chunk size") from None
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass  # trailers carry nothing SMP reads
            return b"".join(parts)
        total += size
        if total > MAX_BODY_BYTES:
            raise _Malformed("response body too large")
        chunk = await reader.readexactly(size + 2)
        if chunk[-2:] != b"\r\n":
            raise _Malformed("chunk not followed by CRLF")
        parts.append(chunk[:-2])
