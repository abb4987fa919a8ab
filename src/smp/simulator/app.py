"""The Simulator: a raw ASGI app serving the SendGrid v3 read endpoints.

Order per request: faults, routing (404), auth (401), rate limit (429), scope
(403), on-behalf-of, query validation (400), handler. Nothing here may crash a
request: unexpected errors become a JSON 500.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import time
from collections.abc import Callable
from http import HTTPStatus
from urllib.parse import parse_qs

from smp.simulator import errors
from smp.simulator.asgi import (
    JSON_TYPE,
    AsgiApp,
    LoggedRequest,
    Receive,
    Reply,
    Scope,
    Send,
    SimulatedReset,
    SimulatedTimeout,
)
from smp.simulator.calendar import advance_world
from smp.simulator.control import control
from smp.simulator.daily import utc_today
from smp.simulator.faults import FaultRule, capped
from smp.simulator.handlers import Call
from smp.simulator.ratelimit import RateLimiter
from smp.simulator.routes import match
from smp.simulator.stats import month_index
from smp.simulator.tenant import Tenant, account_tenant, subuser_tenant
from smp.simulator.transport import SimulatorTransport
from smp.simulator.world import SimKey, World

_CACHE_LIMIT = 20_000


class Simulator:
    """Serves one World; see docs/simulator.md for the control surface.

    Its date is the UTC date of the wall clock, read at every request, so it
    agrees with SMP's clock (and with faketime's); the world grows as days
    pass. `today` pins the date instead.
    """

    def __init__(
        self,
        world: World,
        *,
        rate_limit: int | None = 600,
        rate_window_s: float = 60.0,
        clock: Callable[[], float] = time.time,
        fault_seed: int | None = None,
        max_log: int = 100_000,
        today: dt.date | None = None,
    ) -> None:
        self.limiter = RateLimiter(rate_limit or None, rate_window_s, clock)
        self.clock = clock
        self.faults: list[FaultRule] = []
        self.requests: list[LoggedRequest] = []
        self.max_log = max_log
        self._rng = random.Random(fault_seed)
        self._revoked: set[str] = set()
        self.pinned_today = today
        self.replace_world(world)

    # -- public surface -------------------------------------------------
    def replace_world(self, world: World) -> None:
        self.world = world
        self._keys = {k.key: k for k in world.keys}
        advance_world(world, self.today())
        self._index(world)

    def today(self) -> dt.date:
        """The simulated date: pinned, or the wall clock's UTC date."""
        return self.pinned_today or utc_today()

    def _index(self, world: World) -> None:
        self._tenants: dict[str, Tenant] = {}
        self._sub_tenants: dict[tuple[str, str], Tenant] = {}
        for account in world.accounts:
            months = {
                sub.username: month_index(sub.daily_stats) for sub in account.subusers
            }
            self._tenants[account.username] = account_tenant(world, account, months)
            for sub in account.subusers:
                self._sub_tenants[(account.username, sub.username)] = subuser_tenant(
                    account, sub, months[sub.username]
                )
        self._cache: dict[tuple[str, ...], bytes] = {}

    def add_fault(self, rule: FaultRule) -> FaultRule:
        self.faults.append(rule)
        return rule

    def clear_faults(self) -> None:
        self.faults.clear()
        self._revoked.clear()

    def key(self, account: str, kind: str) -> SimKey:
        for key in self.world.keys:
            if key.account == account and key.kind == kind:
                return key
        raise KeyError((account, kind))

    @property
    def app(self) -> AsgiApp:
        """The ASGI app for a real server (uvicorn)."""
        return AsgiApp(self, in_process=False)

    def transport(self) -> SimulatorTransport:
        """An httpx transport that calls this simulator in process."""
        return SimulatorTransport(self)

    # -- ASGI -----------------------------------------------------------
    async def asgi(
        self, scope: Scope, receive: Receive, send: Send, *, in_process: bool
    ) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            reply = await self._serve(scope, receive)
        except SimulatedTimeout as hang:
            if in_process:
                raise
            await asyncio.sleep(float(hang.args[0]) if hang.args else 30.0)
            await _abort(send)
            return
        except SimulatedReset:
            if in_process:
                raise
            await _abort(send)
            return
        except Exception:  # never crash on a request
            reply = Reply(500, errors.SERVER_ERROR)
        await _send(send, reply)

    async def _serve(self, scope: Scope, receive: Receive) -> Reply:
        path: str = scope["path"]
        if len(path) > 1 and path.endswith("/"):
            path = path[:-1]
        if path.startswith("/_sim/"):
            body = await _read_body(receive)
            return control(self, scope["method"], path, body)
        method: str = scope["method"]
        query = scope.get("query_string", b"").decode("latin-1")
        headers = {k.decode("latin-1").lower(): v.decode() for k, v in scope["headers"]}
        token = _bearer(headers.get("authorization"))
        key = self._keys.get(token) if token is not None else None
        entry = LoggedRequest(
            method=method,
            path=path,
            query=query,
            params=parse_qs(query, keep_blank_values=True),
            key_id=key.key_id if key is not None else None,
            on_behalf_of=headers.get("on-behalf-of"),
            status=None,
            at=self.clock(),
        )
        self._log(entry)
        if method != "GET":
            await _read_body(receive)
        reply = await self._faulted(entry, key, token)
        entry.status = reply.status
        return reply

    async def _faulted(
        self, entry: LoggedRequest, key: SimKey | None, token: str | None
    ) -> Reply:
        key_id = entry.key_id
        terminal: FaultRule | None = None
        max_page: int | None = None
        for rule in self.faults:
            if not rule.matches(entry.method, entry.path, key_id):
                continue
            if rule.kind == "revoke_after":
                rule.seen += 1
                if (
                    key_id is not None
                    and rule.seen > rule.after
                    and rule.fire(self._rng)
                ):
                    self._revoked.add(key_id)
            elif rule.kind == "latency":
                if rule.fire(self._rng):
                    await asyncio.sleep(rule.delay_s(self._rng))
            elif rule.kind == "page_cap":
                if rule.fire(self._rng):
                    max_page = min(max_page or rule.max_page, rule.max_page)
            elif terminal is None and rule.fire(self._rng):
                terminal = rule
        if terminal is not None:
            entry.fault = terminal.kind
            if terminal.kind == "reset":
                raise SimulatedReset()
            if terminal.kind == "timeout":
                raise SimulatedTimeout(terminal.timeout_s)
            if terminal.kind == "status":
                return _status_reply(terminal.status, terminal.html)
            if terminal.kind == "429":
                bucket = key_id or "anonymous"
                headers = self.limiter.exhausted_headers(bucket, entry.path)
                return Reply(429, errors.TOO_MANY, headers)
        reply = self._answer(entry, key, token, max_page)
        if terminal is not None and reply.status == 200:
            reply.body = _mangle(reply.body, terminal.kind)
        return reply

    def _answer(
        self,
        entry: LoggedRequest,
        key: SimKey | None,
        token: str | None,
        max_page: int | None = None,
    ) -> Reply:
        found = match(entry.path)
        bucket = entry.key_id or "anonymous"
        if found is None:
            _, headers = self.limiter.hit(bucket, "unknown")
            return Reply(404, errors.NOT_FOUND, headers)
        route, args = found
        if token is None:
            _, headers = self.limiter.hit(bucket, route.template)
            return Reply(401, errors.AUTH_REQUIRED, headers)
        if key is None or key.kind == "revoked" or key.key_id in self._revoked:
            _, headers = self.limiter.hit(bucket, route.template)
            return Reply(401, errors.INVALID_GRANT, headers)
        allowed, headers = self.limiter.hit(bucket, route.template)
        if not allowed:
            return Reply(429, errors.TOO_MANY, headers)
        needed = (
            route.scope if entry.method == "GET" else route.write_scope(entry.method)
        )
        if needed is not None and needed not in key.scopes:
            return Reply(403, errors.FORBIDDEN, headers)
        tenant = self._tenant(key, entry.on_behalf_of)
        if tenant is None:
            return Reply(403, errors.FORBIDDEN, headers)
        if entry.method != "GET":
            # The simulator is read-only: writes are refused after auth and scope.
            return Reply(405, errors.METHOD_NOT_ALLOWED, headers)
        today = self._live_today()
        day = today.isoformat()
        query = f"{entry.query}&max_page={max_page}" if max_page else entry.query
        cache_key = (day, key.key_id, tenant.username, entry.path, query)
        cached = self._cache.get(cache_key)
        if cached is not None:
            return Reply(200, cached, headers)
        params = capped(entry.params, max_page)
        call = Call(tenant, params, args, key, today, self.world.invoice_format)
        try:
            body = _dump(route.handler(call))
        except errors.BadRequest as bad:
            return Reply(bad.status, bad.body(), headers)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[cache_key] = body
        return Reply(200, body, headers)

    def _live_today(self) -> dt.date:
        """Today, after growing the world to it if a day has passed."""
        today = self.today()
        if advance_world(self.world, today):
            self._index(self.world)
        return today

    def _tenant(self, key: SimKey, on_behalf_of: str | None) -> Tenant | None:
        if on_behalf_of is None or on_behalf_of == "":
            return self._tenants[key.account]
        return self._sub_tenants.get((key.account, on_behalf_of.strip()))

    def _log(self, entry: LoggedRequest) -> None:
        if len(self.requests) >= self.max_log:
            del self.requests[: self.max_log // 2]
        self.requests.append(entry)


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _dump(body: object) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _status_reply(status: int, html: bool) -> Reply:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    if html:
        page = errors.HTML_BAD_GATEWAY.format(status=status, reason=reason)
        return Reply(status, page.encode(), content_type=b"text/html")
    return Reply(status, errors.error_body(reason.lower()))


def _mangle(body: bytes, kind: str) -> bytes:
    if kind == "truncated_json":
        return body[: max(1, len(body) // 2)]
    if kind == "invalid_json":
        return body.replace(b'"', b"'") + b",}"
    return body


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _send(send: Send, reply: Reply) -> None:
    headers = [
        (b"content-type", reply.content_type + (b"; charset=utf-8")),
        (b"content-length", str(len(reply.body)).encode()),
        *reply.headers,
    ]
    await send(
        {"type": "http.response.start", "status": reply.status, "headers": headers}
    )
    await send({"type": "http.response.body", "body": reply.body})


async def _abort(send: Send) -> None:
    """Promise a body and stop short: the server closes the connection mid-reply."""
    headers = [(b"content-type", JSON_TYPE), (b"content-length", b"1024")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b'{"res', "more_body": True})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
