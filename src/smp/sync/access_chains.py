"""Chains of a sync for SSO, IP access and e-mail validation jobs (issue M).

Requests a sync makes (docs/sync.md):
- sso: 1 (`GET /v3/sso/integrations?si=true`) + 1 per SSO integration
  (its certificates);
- ip_allowlist: 1; access_activity: 1 (SendGrid's latest 100 addresses);
- email_validation (the separate validation key): 1 listing + 1 per job
  whose details SMP lacks or may still change: a job that is Done or
  Error and whose segments are stored is never read again.

SSO and validation are Pro plans and up: a key that holds the scope but is
refused (403) means the plan lacks the product, so the capability is
unavailable, not failed, and the key is not marked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from smp.model.access import (
    AccessAttempt,
    AllowedIp,
    SsoCertificate,
    SsoIntegration,
    ValidationJob,
)
from smp.sendgrid import MissingScopeError, SendGridClient
from smp.sendgrid import wire_access as wa
from smp.storage import read_session
from smp.storage.access import (
    list_validation_jobs,
    save_access_attempts,
    save_allowlist,
    save_sso,
    save_validation_jobs,
)
from smp.sync.write_jobs import WriteTarget, Written
from smp.vocabulary import Capability

if TYPE_CHECKING:
    from smp.sync.engine import Run

# Jobs in these states change no more (fact sheet §9).
FINAL_JOB_STATES = frozenset({"Done", "Error"})


def _write_with(
    save: Callable[..., int], session: Session, data: Sequence[Any], target: WriteTarget
) -> Written:
    """Store a complete listing with `save`; a module-level function, so the
    writers below (partials of it) reach the writer process (off_loop_writers)."""
    count = save(
        session, target.integration_id, data, source_sa_id=target.source, now=target.now
    )
    return Written(count)


write_sso = partial(_write_with, save_sso)
write_allowlist = partial(_write_with, save_allowlist)
write_activity = partial(_write_with, save_access_attempts)
write_validation_jobs = partial(_write_with, save_validation_jobs)


def plan_lacks_it(error: Exception) -> bool:
    """A 403 although the key holds the scope: the plan has no such product."""
    return isinstance(error, MissingScopeError)


async def fetch_sso(client: SendGridClient) -> list[SsoIntegration]:
    listed = await client.sso_integrations()
    certificates = await asyncio.gather(
        *(client.sso_certificates(sso.id) for sso in listed)
    )
    return [
        SsoIntegration(
            sso_id=sso.id,
            enabled=sso.enabled,
            name=sso.name,
            completed=sso.completed_integration,
            last_updated=sso.last_updated,
            certificates=tuple(_certificate(c) for c in certs),
        )
        for sso, certs in zip(listed, certificates, strict=True)
    ]


def _certificate(cert: wa.SsoCertificate) -> SsoCertificate:
    return SsoCertificate(str(cert.id), cert.not_before, cert.not_after)


async def fetch_allowlist(client: SendGridClient) -> list[AllowedIp]:
    rules = await client.ip_allowlist()
    # A rule without an id is still a rule: its address names it.
    return list(
        {
            (r.id or r.ip): AllowedIp(r.id or r.ip, r.ip, r.created_at, r.updated_at)
            for r in rules
        }.values()
    )


async def fetch_activity(client: SendGridClient) -> list[AccessAttempt]:
    return [
        AccessAttempt(
            ip=a.ip,
            allowed=a.allowed,
            auth_method=a.auth_method,
            location=a.location,
            first_at=a.first_at,
            last_at=a.last_at,
        )
        for a in await client.access_activity()
    ]


def _job(job: wa.ValidationJob, detail: wa.ValidationJobDetail | None) -> ValidationJob:
    source = detail or job
    return ValidationJob(
        job_id=job.id,
        status=source.status,
        started_at=source.started_at or job.started_at,
        finished_at=source.finished_at or job.finished_at,
        segments=detail.segments if detail else None,
        segments_processed=detail.segments_processed if detail else None,
    )


async def access(run: Run) -> None:
    """SSO, the allowlist and the activity: independent, so concurrent."""

    async def sso() -> None:
        await run.step(Capability.SSO, fetch_sso, write_sso, not_provided=plan_lacks_it)

    async def allowlist() -> None:
        await run.step(Capability.IP_ALLOWLIST, fetch_allowlist, write_allowlist)

    async def activity() -> None:
        await run.step(Capability.ACCESS_ACTIVITY, fetch_activity, write_activity)

    await asyncio.gather(sso(), allowlist(), activity())


async def validation_jobs(run: Run) -> None:
    with read_session(run.engine) as session:
        stored = list_validation_jobs(session, run.integration.id)
    settled = {
        j.job_id
        for j in stored
        if j.status in FINAL_JOB_STATES and j.segments is not None
    }

    async def fetch(client: SendGridClient) -> list[ValidationJob]:
        listed = list({j.id: j for j in await client.validation_jobs()}.values())
        wanted = [j for j in listed if j.id not in settled]
        details = await asyncio.gather(*(client.validation_job(j.id) for j in wanted))
        found = dict(zip([j.id for j in wanted], details, strict=True))
        return [_job(j, found.get(j.id)) for j in listed]

    await run.step(
        Capability.EMAIL_VALIDATION,
        fetch,
        write_validation_jobs,
        not_provided=plan_lacks_it,
    )
