"""`run_sync`: one integration, all its keys, every capability a key can read.

Order of work:
1. Take the integration's lock; record a sync run.
2. Ask every key for its scopes (`GET /v3/scopes`), concurrently.
3. Give each capability to the first-added key that has it.
4. Run five independent chains concurrently: identity; members → invites;
   subusers → volume; credits; invoices. Each capability is fetched completely,
   then written in one transaction of its own.
5. Mark keys `ok` or `needs_attention`; close the sync run.
A failure fails one capability: its stored data stays as it was.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from smp.model import (
    CapabilityResult,
    Integration,
    KeyStatus,
    Outcome,
    ServiceAccount,
    months_to_fetch,
)
from smp.sendgrid import (
    ApiError,
    ApiKey,
    AuthenticationError,
    KeyReport,
    RateLimitedError,
    SendGridClient,
    SendGridError,
    ServerError,
    TransportError,
    report_from_scopes,
    wire,
)
from smp.storage import (
    SecretBox,
    close_interrupted_runs,
    finish_sync_run,
    get_integration,
    list_service_accounts,
    list_subusers,
    save_identity,
    save_invites,
    save_invoices,
    save_members,
    save_monthly_volumes,
    save_subusers,
    save_usage_period,
    set_service_account_status,
    start_sync_run,
    stored_volume_months,
)
from smp.sync import fetch, mapping, sanity
from smp.sync.context import SyncContext
from smp.sync.gate import enter_sync
from smp.sync.report import SyncReport

log = logging.getLogger(__name__)
T = TypeVar("T")
Progress = Callable[[str, Outcome | None], None]

# Capabilities SMP collects, in the order they are reported.
COLLECTED = (
    "account_identity",
    "members",
    "invites",
    "subusers",
    "usage_credits",
    "usage_volume",
    "invoices",
)


async def run_sync(
    engine: Engine,
    box: SecretBox,
    integration: str | int,
    context: SyncContext,
    *,
    trigger: str = "cli",
    progress: Progress | None = None,
) -> SyncReport:
    with Session(engine) as session:
        found = get_integration(session, integration)
        accounts = list_service_accounts(session, found.id)
    # Decrypt first: a wrong master key stops here, before any request.
    keys = {sa.id: ApiKey.parse(box.decrypt(sa.encrypted_secret)) for sa in accounts}
    async with await enter_sync(engine, found.id, context.lock_timeout_s):
        with Session(engine) as session, session.begin():
            # Holding the lock, any unfinished run is one whose process died.
            close_interrupted_runs(session, found.id, now=context.now())
            run_id = start_sync_run(session, found.id, trigger, now=context.now())
        run = _Run(engine, found, accounts, keys, context, run_id, progress)
        try:
            await run.execute()
        finally:
            await run.aclose()
            run.finish()
    return run.report


class _Run:
    def __init__(
        self,
        engine: Engine,
        integration: Integration,
        accounts: list[ServiceAccount],
        keys: dict[int, ApiKey],
        context: SyncContext,
        run_id: int,
        progress: Progress | None,
    ) -> None:
        self.engine = engine
        self.integration = integration
        self.accounts = accounts
        self.context = context
        self.now = context.now()
        self.progress = progress or _no_progress
        self.report = SyncReport(integration.name, run_id)
        self.clients: dict[int, SendGridClient] = {
            sa.id: context.client(
                keys[sa.id], region=integration.region, base_url=integration.base_url
            )
            for sa in accounts
        }
        self.scope_reports: dict[int, KeyReport] = {}
        # service account id -> why its scopes could not be read at all
        self.scope_failures: dict[int, str] = {}

    # --- phases -----------------------------------------------------------------

    async def execute(self) -> None:
        await asyncio.gather(*(self._read_scopes(sa) for sa in self.accounts))
        await asyncio.gather(
            self._identity(),
            self._members_then_invites(),
            self._subusers_then_volume(),
            self._credits(),
            self._invoices(),
        )

    def finish(self) -> None:
        for client in self.clients.values():
            counters = client.counters
            self.report.requests += counters.requests
            self.report.retries += counters.retries
            self.report.rate_limit_waits += counters.rate_limit_waits
        with Session(self.engine) as session, session.begin():
            for sa in self.accounts:
                self._save_key_status(session, sa)
            finish_sync_run(
                session,
                self.report.run_id,
                outcome=self.report.outcome,
                capabilities=self.report.to_json()["capabilities"],
                requests=self.report.requests,
                retries=self.report.retries,
                rate_limit_waits=self.report.rate_limit_waits,
                errors=self.report.errors,
                now=self.context.now(),
            )

    async def aclose(self) -> None:
        await asyncio.gather(*(c.aclose() for c in self.clients.values()))

    # --- keys -------------------------------------------------------------------

    async def _read_scopes(self, sa: ServiceAccount) -> None:
        try:
            scopes = await self.clients[sa.id].scopes()
        except AuthenticationError as error:
            self.report.key_problems[sa.id] = f"scopes check failed: {error}"
            self.scope_failures[sa.id] = str(error)
            return
        except SendGridError as error:
            # A passing fault (5xx, timeout, a cut-off body) says nothing about
            # the key: carry on with the scopes it had at its last check.
            if isinstance(error, ApiError | TransportError):
                self.report.key_problems[sa.id] = f"scopes check failed: {error}"
            if not sa.scopes:
                self.scope_failures[sa.id] = str(error)
                return
            log.warning(
                "scopes check of %s failed (%s); using its stored scopes",
                sa.display_key,
                error,
            )
            scopes = list(sa.scopes)
        self.scope_reports[sa.id] = report_from_scopes(sa.key_id, scopes)

    def _key_for(self, capability: str) -> ServiceAccount | None:
        for sa in self.accounts:
            report = self.scope_reports.get(sa.id)
            if report is not None and report.capabilities.get(capability):
                return sa
        return None

    def _unreadable(self, capability: str) -> CapabilityResult:
        """No key can read it now: failed if a key that used to could not be
        checked, skipped if no key ever could."""
        for sa in self.accounts:
            reason = self.scope_failures.get(sa.id)
            if reason is not None and capability in sa.capabilities:
                return CapabilityResult(
                    Outcome.FAILED,
                    error=f"key {sa.display_key} failed its scopes check: {reason}",
                    service_account_id=sa.id,
                )
        return CapabilityResult(Outcome.SKIPPED, error=_no_key())

    def _save_key_status(self, session: Session, sa: ServiceAccount) -> None:
        problem = self.report.key_problems.get(sa.id)
        report = self.scope_reports.get(sa.id)
        set_service_account_status(
            session,
            sa.id,
            KeyStatus.NEEDS_ATTENTION if problem else KeyStatus.OK,
            last_error=problem,
            missing=report.missing if report else None,
            scopes=report.scopes if report else None,
            capabilities=(
                [n for n, ok in report.capabilities.items() if ok] if report else None
            ),
            last_sync_at=self.now if problem is None else None,
        )

    # --- the generic step ---------------------------------------------------------

    async def _step(
        self,
        capability: str,
        fetch_with: Callable[[SendGridClient], Awaitable[T]],
        write: Callable[[Session, T, int], int],
    ) -> T | None:
        """Fetch completely, then write in one transaction; None if it failed."""
        sa = self._key_for(capability)
        if sa is None:
            self._record(capability, self._unreadable(capability))
            return None
        self.progress(capability, None)
        try:
            data = await fetch_with(self.clients[sa.id])
            sanity.check(data, capability)
            with Session(self.engine) as session, session.begin():
                count = write(session, data, sa.id)
        except (SendGridError, sanity.UnusableAnswer) as error:
            self._fail(capability, sa, error)
            return None
        except Exception as error:
            # A bug or a database failure: this capability fails, the rest goes on.
            log.exception("sync step %s failed", capability)
            self.report.transient.add(capability)
            self._record(
                capability,
                CapabilityResult(
                    Outcome.FAILED,
                    error=f"{type(error).__name__}",
                    service_account_id=sa.id,
                ),
            )
            return None
        self._record(
            capability, CapabilityResult(Outcome.OK, count, service_account_id=sa.id)
        )
        return data

    def _fail(
        self,
        capability: str,
        sa: ServiceAccount,
        error: SendGridError | sanity.UnusableAnswer,
    ) -> None:
        message = str(error)
        # Client errors name the endpoint and at most the redacted key.
        log.warning(
            "%s: %s failed, its stored data is kept: %s",
            self.integration.name,
            capability,
            message,
        )
        self._record(
            capability,
            CapabilityResult(Outcome.FAILED, error=message, service_account_id=sa.id),
        )
        if isinstance(error, TransportError | ServerError | RateLimitedError):
            self.report.transient.add(capability)
        if isinstance(error, ApiError | TransportError):
            previous = self.report.key_problems.get(sa.id)
            text = f"{capability}: {message}"
            self.report.key_problems[sa.id] = (
                f"{previous}; {text}" if previous else text
            )

    def _record(self, capability: str, result: CapabilityResult) -> None:
        self.report.capabilities[capability] = result
        self.progress(capability, result.outcome)

    # --- the chains -----------------------------------------------------------------

    async def _identity(self) -> None:
        def write(session: Session, data: fetch.Identity, source: int) -> int:
            save_identity(
                session,
                self.integration.id,
                mapping.identity(data, source),
                source_sa_id=source,
                now=self.now,
            )
            return 1

        await self._step("account_identity", fetch.fetch_identity, write)

    async def _members_then_invites(self) -> None:
        iid, run_id = self.integration.id, self.report.run_id

        def write_members(
            session: Session, data: list[wire.Teammate], source: int
        ) -> int:
            listed = [mapping.teammate(t) for t in data]
            self.report.events += save_members(
                session, iid, listed, source_sa_id=source, now=self.now, run_id=run_id
            )
            return len(listed)

        def write_invites(
            session: Session, data: list[wire.PendingInvite], source: int
        ) -> int:
            listed = [mapping.invite(i) for i in data]
            self.report.events += save_invites(
                session, iid, listed, source_sa_id=source, now=self.now, run_id=run_id
            )
            return len(listed)

        await self._step("members", fetch.fetch_members, write_members)
        await self._step("invites", fetch.fetch_invites, write_invites)

    async def _subusers_then_volume(self) -> None:
        iid = self.integration.id
        sa = self._key_for("subusers")
        with_credits = bool(
            sa and "subusers.credits.read" in self.scope_reports[sa.id].scopes
        )

        async def get_subusers(client: SendGridClient) -> fetch.SubuserListing:
            return await fetch.fetch_subusers(client, with_credits=with_credits)

        def write_subusers(
            session: Session, data: fetch.SubuserListing, source: int
        ) -> int:
            subusers = mapping.subusers(data)
            save_subusers(session, iid, subusers, source_sa_id=source, now=self.now)
            for period in mapping.subuser_periods(data, self.now.date(), source):
                save_usage_period(
                    session, iid, period, source_sa_id=source, now=self.now
                )
            return len(subusers)

        listing = await self._step("subusers", get_subusers, write_subusers)
        if listing is not None:
            names = [s.username for s in listing.subusers]
        else:
            with Session(self.engine) as session:
                names = [s.username for s in list_subusers(session, iid)]
        await self._volume(names)

    async def _volume(self, subusers: list[str]) -> None:
        iid, today = self.integration.id, self.now.date()
        sa = self._key_for("usage_volume")
        if sa is None or "subusers.stats.read" not in self.scope_reports[sa.id].scopes:
            subusers = []
        with Session(self.engine) as session:
            wanted = [
                months_to_fetch(
                    stored_volume_months(session, iid, name),
                    today,
                    self.context.history_months,
                )
                for name in [None, *subusers]
            ]
        start = min(month for months in wanted for month in months)

        async def get_volume(client: SendGridClient) -> fetch.VolumeListing:
            return await fetch.fetch_volume(client, start, today, subusers)

        def write(session: Session, data: fetch.VolumeListing, source: int) -> int:
            run_id = self.report.run_id
            count = save_monthly_volumes(
                session,
                iid,
                None,
                mapping.monthly_volumes(data.account, None, source),
                source_sa_id=source,
                now=self.now,
                run_id=run_id,
            )
            for name, days in data.subusers.items():
                count += save_monthly_volumes(
                    session,
                    iid,
                    name,
                    mapping.monthly_volumes(days, name, source),
                    source_sa_id=source,
                    now=self.now,
                    run_id=run_id,
                )
            return count

        await self._step("usage_volume", get_volume, write)

    async def _credits(self) -> None:
        def write(session: Session, data: wire.UserCredits, source: int) -> int:
            period = mapping.usage_period(data, self.now.date(), source)
            save_usage_period(
                session,
                self.integration.id,
                period,
                source_sa_id=source,
                now=self.now,
                run_id=self.report.run_id,
            )
            return 1

        await self._step("usage_credits", fetch.fetch_credits, write)

    async def _invoices(self) -> None:
        def write(session: Session, data: list[wire.Invoice], source: int) -> int:
            invoices = [mapping.invoice(i, source) for i in data]
            kept = [i for i in invoices if i is not None]
            save_invoices(
                session, self.integration.id, kept, source_sa_id=source, now=self.now
            )
            return len(kept)

        await self._step("invoices", fetch.fetch_invoices, write)


def _no_progress(capability: str, outcome: Outcome | None) -> None:
    """Progress is optional; the CLI draws bars, others pass nothing."""


def _no_key() -> str:
    return "no connected key can read this"
