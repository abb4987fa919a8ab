"""`SendGridClient`: one typed, read-only method per SendGrid endpoint SMP uses."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter

from smp.sendgrid import adapters, wire, wire_access
from smp.sendgrid.errors import ProtocolError, UnexpectedShape
from smp.sendgrid.http import HttpCore, JsonResponse, QueryParams, RequestCounters
from smp.sendgrid.keys import ApiKey
from smp.sendgrid.pagination import (
    Page,
    keyset_pages,
    offset_page_lists,
    offset_pages,
)
from smp.sendgrid.ratelimit import Clock, ConcurrencyLimiter, RetryPolicy, SystemClock
from smp.sendgrid.regions import resolve_base_url
from smp.sendgrid.transport import default_transport

T = TypeVar("T")

MAX_PAGE_SIZE = 500  # SendGrid's documented maximum for list endpoints
MAX_SUBUSERS_PER_STATS_CALL = 10
# SendGrid's activity list has no pages; its limit has no documented maximum,
# so SMP asks for more than the default 20 and keeps what it has seen.
ACCESS_ACTIVITY_LIMIT = 100


@dataclass(frozen=True, slots=True)
class SubuserAccessList:
    """A teammate's subuser access: restricted or not, and the subusers."""

    has_restricted_subuser_access: bool
    subusers: list[wire.SubuserAccess]


class SendGridClient:
    """Reads one SendGrid account with one key. Only GET can leave it.

    `transport` is any httpx transport (MockTransport, ASGITransport for the
    simulator); `clock` and `policy` let tests control time and retries;
    `limiter` should be shared by all clients of a process.
    """

    def __init__(
        self,
        key: ApiKey,
        *,
        region: str = "global",
        base_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        policy: RetryPolicy | None = None,
        limiter: ConcurrencyLimiter | None = None,
    ) -> None:
        self.key = key
        self.base_url = resolve_base_url(region, base_url)
        self._core = HttpCore(
            key,
            self.base_url,
            transport or default_transport(self.base_url),
            clock=clock or SystemClock(),
            policy=policy or RetryPolicy(),
            limiter=limiter or ConcurrencyLimiter(),
        )

    def __repr__(self) -> str:
        return f"SendGridClient(key={self.key.redacted!r}, base_url={self.base_url!r})"

    async def __aenter__(self) -> SendGridClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._core.aclose()

    @property
    def counters(self) -> RequestCounters:
        return self._core.counters

    @property
    def rate_limit(self) -> int | None:
        """The latest `X-RateLimit-Limit` SendGrid sent this client, if any."""
        return self._core.rate_limit

    # --- key and scopes ----------------------------------------------------------

    async def scopes(self) -> list[str]:
        """`GET /v3/scopes`: the scopes of this very key (needs no scope)."""
        response = await self._get("/v3/scopes")
        if not isinstance(response.payload, dict):
            raise ProtocolError("/v3/scopes", "expected an object with 'scopes'")
        return self._parse(
            "/v3/scopes", adapters.SCOPES, response.payload.get("scopes")
        )

    async def api_key(self, api_key_id: str) -> wire.ApiKeyInfo:
        """`GET /v3/api_keys/{id}`, flat or wrapped in `result[]`."""
        path = f"/v3/api_keys/{_segment(api_key_id)}"
        response = await self._get(path, scopes=("api_keys.read",))
        return self._one(path, adapters.API_KEY, response.payload)

    async def own_api_key(self) -> wire.ApiKeyInfo:
        return await self.api_key(self.key.key_id)

    async def api_keys(self) -> list[wire.ApiKeyInfo]:
        """`GET /v3/api_keys` (max 100 keys per account, so one page)."""
        path = "/v3/api_keys"
        response = await self._get(path, {"limit": 100}, scopes=("api_keys.read",))
        return self._list(path, adapters.API_KEYS, response.payload)

    # --- teammates ---------------------------------------------------------------

    def teammates(
        self, *, page_size: int = MAX_PAGE_SIZE, on_behalf_of: str | None = None
    ) -> AsyncIterator[wire.Teammate]:
        return self._offset_list(
            "/v3/teammates",
            adapters.TEAMMATES,
            page_size,
            ("teammates.read",),
            on_behalf_of,
            one_pass=adapters.TEAMMATES_ONE_PASS,
        )

    def teammate_pages(
        self, *, page_size: int = MAX_PAGE_SIZE, on_behalf_of: str | None = None
    ) -> AsyncIterator[list[wire.Teammate]]:
        """`teammates()` a page at a time, for consumers that work in batches.

        A consumer that drops each page should do so before the next one
        arrives (`del page` at the end of the loop body), or the GC walks it.
        """
        fetch = self._offset_fetch(
            "/v3/teammates",
            adapters.TEAMMATES,
            ("teammates.read",),
            on_behalf_of,
            one_pass=adapters.TEAMMATES_ONE_PASS,
        )
        return offset_page_lists("/v3/teammates", fetch, limit=page_size)

    async def teammate(self, username: str) -> wire.TeammateDetail:
        path = f"/v3/teammates/{_segment(username)}"
        response = await self._get(path, scopes=("teammates.read",))
        return self._one(path, adapters.TEAMMATE_DETAIL, response.payload)

    async def pending_invites(self) -> list[wire.PendingInvite]:
        path = "/v3/teammates/pending"
        response = await self._get(path, scopes=("teammates.read",))
        return self._list(path, adapters.INVITES, response.payload)

    async def subuser_access(
        self, username: str, *, page_size: int = 100
    ) -> SubuserAccessList:
        """Keyset-paged by `_metadata.next_params.after_subuser_id`."""
        path = f"/v3/teammates/{_segment(username)}/subuser_access"
        restricted = False

        async def fetch(token: Hashable | None) -> Page[wire.SubuserAccess]:
            nonlocal restricted
            params: dict[str, str | int] = {"limit": page_size}
            if token is not None:
                params["after_subuser_id"] = str(token)
            response = await self._get(path, params, scopes=("teammates.read",))
            payload = response.payload
            items = self._list(
                path, adapters.SUBUSER_ACCESS, payload, keys=("subuser_access",)
            )
            restricted = bool(payload.get("has_restricted_subuser_access"))
            return Page(items, response.body, _next_after_id(payload))

        subusers = [item async for item in keyset_pages(path, fetch)]
        return SubuserAccessList(restricted, subusers)

    # --- user --------------------------------------------------------------------

    async def user_account(
        self, *, on_behalf_of: str | None = None
    ) -> wire.UserAccount:
        return await self._single(
            "/v3/user/account", adapters.ACCOUNT, "user.account.read", on_behalf_of
        )

    async def user_profile(
        self, *, on_behalf_of: str | None = None
    ) -> wire.UserProfile:
        return await self._single(
            "/v3/user/profile", adapters.PROFILE, "user.profile.read", on_behalf_of
        )

    async def user_email(self, *, on_behalf_of: str | None = None) -> wire.UserEmail:
        return await self._single(
            "/v3/user/email", adapters.EMAIL, "user.email.read", on_behalf_of
        )

    async def user_username(
        self, *, on_behalf_of: str | None = None
    ) -> wire.UserUsername:
        return await self._single(
            "/v3/user/username", adapters.USERNAME, "user.username.read", on_behalf_of
        )

    async def user_credits(
        self, *, on_behalf_of: str | None = None
    ) -> wire.UserCredits:
        return await self._single(
            "/v3/user/credits", adapters.CREDITS, "user.credits.read", on_behalf_of
        )

    # --- stats -------------------------------------------------------------------

    def stats(
        self,
        start_date: dt.date,
        end_date: dt.date | None = None,
        *,
        aggregated_by: str | None = None,
        on_behalf_of: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[wire.StatsDay]:
        """`GET /v3/stats`; with `on_behalf_of` a parent key reads a subuser's."""
        params = _date_params(start_date, end_date, aggregated_by)
        return self._offset_list(
            "/v3/stats",
            adapters.STATS,
            page_size,
            ("stats.read", "stats.global.read"),
            on_behalf_of,
            params=params,
            bare=True,
            one_pass=adapters.STATS_ONE_PASS,
        )

    def subuser_stats(
        self,
        subusers: Sequence[str],
        start_date: dt.date,
        end_date: dt.date | None = None,
        *,
        aggregated_by: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[wire.StatsDay]:
        """`GET /v3/subusers/stats` for at most 10 subusers per call."""
        if not 1 <= len(subusers) <= MAX_SUBUSERS_PER_STATS_CALL:
            raise ValueError("subuser_stats takes 1 to 10 subuser names")
        params: dict[str, str | int | Sequence[str]] = dict(
            _date_params(start_date, end_date, aggregated_by)
        )
        params["subusers"] = list(subusers)
        return self._offset_list(
            "/v3/subusers/stats",
            adapters.STATS,
            page_size,
            ("subusers.stats.read",),
            None,
            params=params,
            bare=True,
            one_pass=adapters.STATS_ONE_PASS,
        )

    def subuser_monthly_stats(
        self, month: dt.date, *, page_size: int = 100
    ) -> AsyncIterator[wire.StatEntry]:
        """`GET /v3/subusers/stats/monthly`; its default page is 5, so page it."""
        return self._offset_list(
            "/v3/subusers/stats/monthly",
            adapters.STAT_ENTRIES,
            page_size,
            ("subusers.stats.monthly.read",),
            None,
            params={"date": month.isoformat()},
            keys=("stats",),
            one_pass=adapters.STAT_ENTRIES_ONE_PASS,
        )

    # --- subusers ----------------------------------------------------------------

    def subusers(
        self, *, page_size: int = MAX_PAGE_SIZE
    ) -> AsyncIterator[wire.Subuser]:
        return self._offset_list(
            "/v3/subusers",
            adapters.SUBUSERS,
            page_size,
            ("subusers.read",),
            None,
            params={"include_region": "true"},
            bare=True,
            one_pass=adapters.SUBUSERS_ONE_PASS,
        )

    def subuser_pages(
        self, *, page_size: int = MAX_PAGE_SIZE
    ) -> AsyncIterator[list[wire.Subuser]]:
        """`subusers()` a page at a time."""
        fetch = self._offset_fetch(
            "/v3/subusers",
            adapters.SUBUSERS,
            ("subusers.read",),
            None,
            params={"include_region": "true"},
            bare=True,
            one_pass=adapters.SUBUSERS_ONE_PASS,
        )
        return offset_page_lists("/v3/subusers", fetch, limit=page_size)

    async def subuser_credits(self, username: str) -> wire.SubuserCredits:
        path = f"/v3/subusers/{_segment(username)}/credits"
        response = await self._get(path, scopes=("subusers.credits.read",))
        return self._one(path, adapters.SUBUSER_CREDITS, response.payload)

    # --- billing and validations -------------------------------------------------

    def invoices(self, *, page_size: int = 100) -> AsyncIterator[wire.Invoice]:
        """Undocumented `GET /v3/billing/invoices`; needs a Billing Access key."""
        return self._offset_list(
            "/v3/billing/invoices",
            adapters.INVOICES,
            page_size,
            ("billing.read",),
            None,
            keys=wire.INVOICE_LIST_KEYS,
            bare=True,
            one_pass=adapters.INVOICES_ONE_PASS,
        )

    async def validation_jobs(self) -> list[wire_access.ValidationJob]:
        """Bulk validation jobs; needs the separate e-mail validation key."""
        path = "/v3/validations/email/jobs"
        response = await self._get(path, scopes=("validations.email.read",))
        return self._list(path, adapters.VALIDATION_JOBS, response.payload)

    async def validation_job(self, job_id: str) -> wire_access.ValidationJobDetail:
        """One job with its `segments` (1,500 addresses each)."""
        path = f"/v3/validations/email/jobs/{_segment(job_id)}"
        response = await self._get(path, scopes=("validations.email.read",))
        return self._one(path, adapters.VALIDATION_JOB, response.payload)

    # --- SSO and IP access -------------------------------------------------------

    async def sso_integrations(self) -> list[wire_access.SsoIntegration]:
        """`GET /v3/sso/integrations?si=true`: a bare array (spec)."""
        path = "/v3/sso/integrations"
        response = await self._get(path, {"si": "true"}, scopes=("sso.settings.read",))
        return self._list(path, adapters.SSO_INTEGRATIONS, response.payload, bare=True)

    async def sso_certificates(
        self, integration_id: str
    ) -> list[wire_access.SsoCertificate]:
        path = f"/v3/sso/integrations/{_segment(integration_id)}/certificates"
        response = await self._get(path, scopes=("sso.settings.read",))
        return self._list(path, adapters.SSO_CERTIFICATES, response.payload, bare=True)

    async def ip_allowlist(self) -> list[wire_access.AllowedIp]:
        path = "/v3/access_settings/whitelist"
        response = await self._get(path, scopes=("access_settings.whitelist.read",))
        return self._list(path, adapters.ALLOWED_IPS, response.payload)

    async def access_activity(
        self, *, limit: int = ACCESS_ACTIVITY_LIMIT
    ) -> list[wire_access.AccessAttempt]:
        """The latest IPs that tried to reach the account (default 20 a call)."""
        path = "/v3/access_settings/activity"
        response = await self._get(
            path, {"limit": limit}, scopes=("access_settings.activity.read",)
        )
        return self._list(path, adapters.ACCESS_ATTEMPTS, response.payload)

    # --- plumbing ----------------------------------------------------------------

    async def _get(
        self,
        path: str,
        params: QueryParams | None = None,
        *,
        scopes: Sequence[str] = (),
        on_behalf_of: str | None = None,
    ) -> JsonResponse:
        return await self._core.get_json(
            path, params, scopes=scopes, on_behalf_of=on_behalf_of
        )

    async def _single(
        self,
        path: str,
        adapter: TypeAdapter[T],
        scope: str,
        on_behalf_of: str | None,
    ) -> T:
        response = await self._get(path, scopes=(scope,), on_behalf_of=on_behalf_of)
        if not isinstance(response.payload, dict):
            raise ProtocolError(path, "expected an object")
        return self._parse(path, adapter, response.payload)

    def _offset_list(
        self,
        path: str,
        adapter: TypeAdapter[list[T]],
        page_size: int,
        scopes: Sequence[str],
        on_behalf_of: str | None,
        *,
        params: QueryParams | None = None,
        keys: Sequence[str] = wire.LIST_KEYS,
        bare: bool = False,
        one_pass: adapters.OnePass[T] | None = None,
    ) -> AsyncIterator[T]:
        fetch = self._offset_fetch(
            path,
            adapter,
            scopes,
            on_behalf_of,
            params=params,
            keys=keys,
            bare=bare,
            one_pass=one_pass,
        )
        # The pager itself, not a generator around it: one hop less per item.
        return offset_pages(path, fetch, limit=page_size)

    def _offset_fetch(
        self,
        path: str,
        adapter: TypeAdapter[list[T]],
        scopes: Sequence[str],
        on_behalf_of: str | None,
        *,
        params: QueryParams | None = None,
        keys: Sequence[str] = wire.LIST_KEYS,
        bare: bool = False,
        one_pass: adapters.OnePass[T] | None = None,
    ) -> Callable[[int, int], Awaitable[Page[T]]]:
        """`fetch(limit, offset)` for the offset pagers: one page, validated."""

        def read(response: JsonResponse) -> Page[T]:
            items = one_pass(response.body) if one_pass is not None else None
            if items is None:
                items = self._list(
                    path, adapter, response.payload, keys=keys, bare=bare
                )
            return Page(items, response.body)

        async def fetch(limit: int, offset: int) -> Page[T]:
            query = {**(params or {}), "limit": limit, "offset": offset}
            # Read inside the retry loop: a page cut short is fetched again.
            return await self._core.get(
                path, query, read, scopes=scopes, on_behalf_of=on_behalf_of
            )

        return fetch

    def _list(
        self,
        path: str,
        adapter: TypeAdapter[list[T]],
        payload: Any,
        *,
        keys: Sequence[str] = wire.LIST_KEYS,
        bare: bool = False,
    ) -> list[T]:
        try:
            return wire.validate(adapter, wire.items_of(payload, keys, bare=bare))
        except wire.ShapeError as exc:
            raise UnexpectedShape(path, f"unexpected shape: {exc}") from None

    def _one(self, path: str, adapter: TypeAdapter[T], payload: Any) -> T:
        try:
            return wire.validate(adapter, wire.single_object(payload))
        except wire.ShapeError as exc:
            raise UnexpectedShape(path, f"unexpected shape: {exc}") from None

    def _parse(self, path: str, adapter: TypeAdapter[T], data: Any) -> T:
        try:
            return wire.validate(adapter, data)
        except wire.ShapeError as exc:
            raise UnexpectedShape(path, f"unexpected shape: {exc}") from None


def _segment(value: str) -> str:
    """Quote a path segment so a name can never change the path."""
    return quote(value, safe="")


def _date_params(
    start: dt.date, end: dt.date | None, aggregated_by: str | None
) -> dict[str, str]:
    params = {"start_date": start.isoformat()}
    if end is not None:
        params["end_date"] = end.isoformat()
    if aggregated_by is not None:
        params["aggregated_by"] = aggregated_by
    return params


def _next_after_id(payload: dict[str, Any]) -> Hashable | None:
    metadata = payload.get("_metadata")
    if not isinstance(metadata, dict):
        return None
    next_params = metadata.get("next_params")
    if not isinstance(next_params, dict):
        return None
    token = next_params.get("after_subuser_id")
    # 0, "" and null all mean "no more pages".
    if token in (None, 0, "", "0") or isinstance(token, bool | dict | list):
        return None
    return str(token)
