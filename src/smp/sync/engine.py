"""`run_sync`: one integration, all its keys, every capability a key can read.

Order of work:
1. Take the integration's lock; record a sync run.
2. Ask every key for its scopes (`GET /v3/scopes`), concurrently.
3. Give each capability to the first-added key that has it.
4. Run five independent chains concurrently (`smp.sync.chains`): identity;
   members → invites; subusers with volume; credits; invoices. Each
   capability is fetched completely, then written in one transaction of its
   own. Later syncs skip what cannot have changed (`smp.sync.freshness`).
5. Mark keys `ok` or `needs_attention`; close the sync run.
A failure fails one capability: its stored data stays as it was. An answer
that only says SendGrid gives the key no such data (invoices, see
`fetch.invoices_not_provided`) makes it `unavailable`: data kept, key healthy.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from smp.model import (
    CapabilityResult,
    Integration,
    KeyStatus,
    Outcome,
    ServiceAccount,
)
from smp.sendgrid import (
    ApiError,
    ApiKey,
    AuthenticationError,
    Capability,
    KeyReport,
    RateLimitedError,
    SendGridClient,
    SendGridError,
    ServerError,
    TransportError,
    report_from_scopes,
)
from smp.storage import (
    SecretBox,
    StorageError,
    audit,
    close_interrupted_runs,
    finish_sync_run,
    get_integration,
    list_service_accounts,
    read_session,
    set_service_account_status,
    start_sync_run,
)
from smp.storage.classifications import reclassify
from smp.storage.findings import evaluate_findings
from smp.storage.review_remediation import check_remediation
from smp.sync import access_chains, chains, key_chains, sanity, write_jobs
from smp.sync.context import SyncContext
from smp.sync.gate import enter_sync
from smp.sync.off_loop_writers import WriterStopped, on_thread
from smp.sync.report import SyncReport

log = logging.getLogger(__name__)
T = TypeVar("T")
# The audit trail's source of a sync nobody named: where it was started from.
TRIGGER_SOURCES = {"schedule": "scheduler", "worker": "worker"}
Progress = Callable[[str, Outcome | None], None]

# Capabilities SMP collects, in the order they are reported.
COLLECTED = (
    Capability.ACCOUNT_IDENTITY,
    Capability.MEMBERS,
    Capability.INVITES,
    Capability.SUBUSERS,
    Capability.USAGE_CREDITS,
    Capability.USAGE_VOLUME,
    Capability.INVOICES,
    Capability.SSO,
    Capability.IP_ALLOWLIST,
    Capability.ACCESS_ACTIVITY,
    Capability.EMAIL_VALIDATION,
    Capability.API_KEYS,
    Capability.TEAMMATE_SCOPES,
)


async def run_sync(
    engine: Engine,
    box: SecretBox,
    integration: str | int,
    context: SyncContext,
    *,
    trigger: str = "cli",
    progress: Progress | None = None,
    started_by: str | None = None,
    source: str | None = None,
) -> SyncReport:
    """Sync one integration; `started_by`/`source` name who asked, for the audit
    trail (default: SMP itself, from the trigger: cli, scheduler, worker…)."""
    with read_session(engine) as session:
        found = get_integration(session, integration)
        accounts = list_service_accounts(session, found.id)
    # Decrypt first: a wrong master key stops here, before any request.
    keys = {sa.id: ApiKey.parse(box.decrypt(sa.encrypted_secret)) for sa in accounts}
    async with await enter_sync(engine, found.id, context.lock_timeout_s):

        def open_run() -> int:
            with Session(engine) as session, session.begin():
                # Holding the lock, any unfinished run is one whose process died.
                close_interrupted_runs(session, found.id, now=context.now())
                run_id = start_sync_run(session, found.id, trigger, now=context.now())
                audit.append(
                    session,
                    actor=started_by,
                    source=source or TRIGGER_SOURCES.get(trigger, trigger),
                    action="sync.start",
                    target=found.name,
                    details={"trigger": trigger, "run_id": run_id},
                )
                return run_id

        # On a thread: waiting for SQLite's write lock must not stall the loop.
        run_id = await on_thread(open_run)
        run = Run(engine, found, accounts, keys, context, run_id, progress)
        try:
            await run.execute()
        finally:
            await run.aclose()
            await on_thread(run.finish)
    return run.report


class Run:
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
        self.report.base_url = next(
            (c.base_url for c in self.clients.values()), integration.base_url
        )
        self.scope_reports: dict[int, KeyReport] = {}
        # service account id -> why its scopes could not be read at all
        self.scope_failures: dict[int, str] = {}
        # service account id -> why its scopes check got no answer
        self.scope_unanswered: dict[int, str] = {}

    # --- phases -----------------------------------------------------------------

    async def execute(self) -> None:
        await asyncio.gather(*(self._read_scopes(sa) for sa in self.accounts))
        # A chain that raises (the database went away between steps) must not
        # cut the others short: their clients would be closed under them.
        results = await asyncio.gather(
            chains.identity(self),
            chains.members_then_invites(self),
            chains.subusers_and_volume(self),
            chains.account_credits(self),
            chains.invoices(self),
            access_chains.access(self),
            access_chains.validation_jobs(self),
            key_chains.api_keys(self),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result

    def finish(self) -> None:
        for client in self.clients.values():
            counters = client.counters
            self.report.requests += counters.requests
            self.report.answers += counters.answers
            self.report.retries += counters.retries
            self.report.rate_limit_waits += counters.rate_limit_waits
        self._one_unreachable_problem()
        unclassified = self._reclassify()
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
                errors=self.report.errors + unclassified,
                now=self.context.now(),
            )
        self._evaluate_findings()

    def _evaluate_findings(self) -> None:
        """The integration's findings, from what the sync just wrote
        (docs/findings.md). After the run is closed, so the keys' statuses are
        saved; a failure is logged in one line and the next sync evaluates
        again: it must not change the sync's outcome."""
        try:
            # First: a review decision carried out resolves its finding now.
            checked = check_remediation(
                self.engine,
                now=self.context.now(),
                integration_ids=[self.integration.id],
            )
            if checked.reopened:
                log.warning(
                    "%s: %d access review decision(s) verified before are "
                    "undone in SendGrid (the account is back or its role "
                    "changed again): pending again",
                    self.integration.name,
                    checked.reopened,
                )
            evaluate_findings(
                self.engine,
                now=self.context.now(),
                integration_ids=[self.integration.id],
            )
        except (DBAPIError, StorageError) as error:
            reason = str(getattr(error, "orig", None) or error).strip().split("\n")[0]
            log.warning(
                "%s: findings not evaluated, the database failed: %s",
                self.integration.name,
                reason,
            )
        except Exception:
            log.exception("%s: evaluating the findings failed", self.integration.name)

    def _reclassify(self) -> list[str]:
        """The accounts just written, matched against the directory (issue L):
        new leavers, and the offboarding lag of accounts that disappeared.

        Done before the run is closed, so a failure is kept among its
        errors. The sync's data is committed already: a failure here must not
        hide its outcome. A database failure is logged in one line; the next
        sync of the integration (or an import) classifies its accounts again.
        """
        try:
            reclassify(
                self.engine,
                now=self.context.now(),
                integration_ids=[self.integration.id],
            )
        except (DBAPIError, StorageError) as error:
            reason = str(getattr(error, "orig", None) or error).strip().split("\n")[0]
            log.warning(
                "%s: accounts not classified, the database failed: %s",
                self.integration.name,
                reason,
            )
            return [f"classification: database: {type(error).__name__}"]
        except Exception as error:
            # A bug: as in a step, the run still ends with its outcome.
            log.exception("%s: classifying the accounts failed", self.integration.name)
            return [f"classification: {type(error).__name__}"]
        return []

    def _one_unreachable_problem(self) -> None:
        """SendGrid did not answer at all: one warning and one problem per key,
        instead of one per key and request."""
        message = self.report.unreachable_message
        if message is None:
            return
        log.warning("%s: %s", self.integration.name, message)
        for sa_id in self.report.key_problems:
            self.report.key_problems[sa_id] = message

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
            if isinstance(error, TransportError):
                self.scope_unanswered[sa.id] = _reason(error)
            if not sa.scopes:
                self.scope_failures[sa.id] = str(error)
                return
            # No answer at all is warned about once, when the run ends.
            unanswered = isinstance(error, TransportError)
            log.log(
                logging.INFO if unanswered else logging.WARNING,
                "scopes check of %s failed (%s); using its stored scopes",
                sa.display_key,
                error,
            )
            scopes = list(sa.scopes)
        self.scope_reports[sa.id] = report_from_scopes(sa.key_id, scopes)

    def key_for(self, capability: str) -> ServiceAccount | None:
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
                if sa.id in self.scope_unanswered:
                    self.report.unreachable[capability] = self.scope_unanswered[sa.id]
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

    async def step(
        self,
        capability: str,
        fetch_with: Callable[[SendGridClient], Awaitable[T]],
        save: Callable[[Session, T, write_jobs.WriteTarget], write_jobs.Written],
        *,
        not_provided: Callable[[Exception], bool] | None = None,
    ) -> T | None:
        """Fetch completely, then write in one transaction; None if it failed.

        `not_provided` picks the errors that mean SendGrid has no such data
        for this key: the capability is then unavailable, not failed.
        """
        sa = self.key_for(capability)
        if sa is None:
            self.record(capability, self._unreadable(capability))
            return None
        self.progress(capability, None)
        try:
            data = await fetch_with(self.clients[sa.id])
            scope = write_jobs.WriteTarget(
                self.integration.id, sa.id, self.report.run_id, self.now
            )
            job = write_jobs.Job(capability, save, data, scope)
            written = await self.context.writer.write(self.engine, job)
        except (SendGridError, sanity.UnusableAnswer) as error:
            if not_provided is not None and not_provided(error):
                self._unavailable(capability, sa, error)
            else:
                self._fail(capability, sa, error)
            return None
        except (DBAPIError, StorageError, WriterStopped) as error:
            # The database (or the writer process) went away: expected in
            # operation, so no traceback.
            reason = str(getattr(error, "orig", None) or error).strip().split("\n")[0]
            log.warning(
                "%s: %s could not be written, %s: %s",
                self.integration.name,
                capability,
                "the writer failed"
                if isinstance(error, WriterStopped)
                else "the database failed",
                reason,
            )
            self.report.transient.add(capability)
            self.report.database_failed = True
            self.record(
                capability,
                CapabilityResult(
                    Outcome.FAILED,
                    error=f"database: {type(error).__name__}",
                    service_account_id=sa.id,
                ),
            )
            return None
        except Exception as error:
            # A bug: this capability fails, the rest goes on.
            log.exception("sync step %s failed", capability)
            self.report.transient.add(capability)
            self.record(
                capability,
                CapabilityResult(
                    Outcome.FAILED,
                    error=f"{type(error).__name__}",
                    service_account_id=sa.id,
                ),
            )
            return None
        self.report.events += written.events
        self.record(
            capability,
            CapabilityResult(Outcome.OK, written.count, service_account_id=sa.id),
        )
        return data

    def _fail(
        self,
        capability: str,
        sa: ServiceAccount,
        error: SendGridError | sanity.UnusableAnswer,
    ) -> None:
        message = str(error)
        unanswered = isinstance(error, TransportError)
        if isinstance(error, TransportError):
            self.report.unreachable[capability] = _reason(error)
        # Client errors name the endpoint and at most the redacted key. No
        # answer at all is warned about once, when the run ends.
        log.log(
            logging.INFO if unanswered else logging.WARNING,
            "%s: %s failed, its stored data is kept: %s",
            self.integration.name,
            capability,
            message,
        )
        self.record(
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

    def _unavailable(
        self, capability: str, sa: ServiceAccount, error: Exception
    ) -> None:
        """Not a fault: stored data is kept, the key is not marked, no retry."""
        log.info(
            "%s: SendGrid did not provide %s, its stored data is kept: %s",
            self.integration.name,
            capability,
            error,
        )
        self.record(
            capability,
            CapabilityResult(
                Outcome.UNAVAILABLE,
                error=f"SendGrid did not provide {capability} to this key ({error})",
                service_account_id=sa.id,
            ),
        )

    def record(self, capability: str, result: CapabilityResult) -> None:
        self.report.capabilities[capability] = result
        self.progress(capability, result.outcome)

    def reads_subuser_stats(self) -> bool:
        sa = self.key_for(Capability.USAGE_VOLUME)
        return bool(sa and "subusers.stats.read" in self.scope_reports[sa.id].scopes)


def _no_progress(capability: str, outcome: Outcome | None) -> None:
    """Progress is optional; the CLI draws bars, others pass nothing."""


def _reason(error: TransportError) -> str:
    """Why no answer came, without the endpoint: the same for every request."""
    return str(error).removeprefix(f"GET {error.endpoint}: ")


def _no_key() -> str:
    return "no connected key can read this"
