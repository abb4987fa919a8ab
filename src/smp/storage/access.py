"""SSO integrations and certificates, the IP allowlist, access attempts and
validation jobs of an integration.

SSO and the allowlist are settings: each complete listing replaces what was
stored. Access attempts and validation jobs are history: SendGrid lists only
the latest ones, so SMP merges them and never deletes one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, select, tuple_
from sqlalchemy.orm import Session

from smp.model.access import (
    AccessAttempt,
    AllowedIp,
    SsoCertificate,
    SsoIntegration,
    ValidationJob,
    ValidationMonth,
    validation_months,
)
from smp.storage.tables import (
    AccessAttemptRow,
    IpAllowlistRow,
    SsoCertificateRow,
    SsoIntegrationRow,
    ValidationJobRow,
)
from smp.storage.upsert import upsert


def _owned(integration_id: int, source: int | None, now: dt.datetime) -> dict[str, Any]:
    return {
        "integration_id": integration_id,
        "source_service_account_id": source,
        "first_seen": now,
        "synced_at": now,
    }


def _keep_first_seen(rows: list[dict[str, Any]]) -> list[str]:
    return [c for c in rows[0] if c != "first_seen"] if rows else []


def save_sso(
    session: Session,
    integration_id: int,
    integrations: Sequence[SsoIntegration],
    *,
    source_sa_id: int | None,
    now: dt.datetime,
) -> int:
    """Replace the SSO integrations and their certificates with a complete listing."""
    owned = _owned(integration_id, source_sa_id, now)
    listed = [
        {
            **owned,
            "sso_id": sso.sso_id,
            "name": sso.name,
            "enabled": sso.enabled,
            "completed": sso.completed,
            "last_updated": sso.last_updated,
        }
        for sso in integrations
    ]
    certificates = [
        {
            **owned,
            "sso_id": sso.sso_id,
            "cert_id": cert.cert_id,
            "not_before": cert.not_before,
            "not_after": cert.not_after,
        }
        for sso in integrations
        for cert in sso.certificates
    ]
    ids = [sso.sso_id for sso in integrations]
    pairs = [(c["sso_id"], c["cert_id"]) for c in certificates]
    gone_certs = delete(SsoCertificateRow).where(
        SsoCertificateRow.integration_id == integration_id
    )
    if pairs:
        gone_certs = gone_certs.where(
            tuple_(SsoCertificateRow.sso_id, SsoCertificateRow.cert_id).not_in(pairs)
        )
    session.execute(gone_certs)
    session.execute(
        delete(SsoIntegrationRow).where(
            SsoIntegrationRow.integration_id == integration_id,
            SsoIntegrationRow.sso_id.not_in(ids),
        )
    )
    upsert(
        session,
        SsoIntegrationRow,
        listed,
        keys=("integration_id", "sso_id"),
        update=_keep_first_seen(listed),
    )
    upsert(
        session,
        SsoCertificateRow,
        certificates,
        keys=("integration_id", "sso_id", "cert_id"),
        update=_keep_first_seen(certificates),
    )
    return len(listed)


def list_sso(session: Session, integration_id: int) -> list[SsoIntegration]:
    certs: dict[str, list[SsoCertificate]] = {}
    for row in session.scalars(
        select(SsoCertificateRow)
        .where(SsoCertificateRow.integration_id == integration_id)
        .order_by(SsoCertificateRow.not_after, SsoCertificateRow.cert_id)
    ):
        certs.setdefault(row.sso_id, []).append(
            SsoCertificate(row.cert_id, row.not_before, row.not_after)
        )
    return [
        SsoIntegration(
            sso_id=row.sso_id,
            enabled=row.enabled,
            name=row.name,
            completed=row.completed,
            last_updated=row.last_updated,
            certificates=tuple(certs.get(row.sso_id, ())),
        )
        for row in session.scalars(
            select(SsoIntegrationRow)
            .where(SsoIntegrationRow.integration_id == integration_id)
            .order_by(SsoIntegrationRow.sso_id)
        )
    ]


def save_allowlist(
    session: Session,
    integration_id: int,
    rules: Sequence[AllowedIp],
    *,
    source_sa_id: int | None,
    now: dt.datetime,
) -> int:
    """Replace the allowlist; an empty listing means the account has none."""
    owned = _owned(integration_id, source_sa_id, now)
    rows = [
        {
            **owned,
            "rule_id": rule.rule_id,
            "ip": rule.ip,
            "created_at": rule.created_at,
            "updated_at": rule.updated_at,
        }
        for rule in rules
    ]
    session.execute(
        delete(IpAllowlistRow).where(
            IpAllowlistRow.integration_id == integration_id,
            IpAllowlistRow.rule_id.not_in([rule.rule_id for rule in rules]),
        )
    )
    return upsert(
        session,
        IpAllowlistRow,
        rows,
        keys=("integration_id", "rule_id"),
        update=_keep_first_seen(rows),
    )


def list_allowlist(session: Session, integration_id: int) -> list[AllowedIp]:
    return [
        AllowedIp(row.rule_id, row.ip, row.created_at, row.updated_at)
        for row in session.scalars(
            select(IpAllowlistRow)
            .where(IpAllowlistRow.integration_id == integration_id)
            .order_by(IpAllowlistRow.ip, IpAllowlistRow.rule_id)
        )
    ]


def _earliest(*times: dt.datetime | None) -> dt.datetime | None:
    known = [t for t in times if t is not None]
    return min(known) if known else None


def _latest(*times: dt.datetime | None) -> dt.datetime | None:
    known = [t for t in times if t is not None]
    return max(known) if known else None


def save_access_attempts(
    session: Session,
    integration_id: int,
    attempts: Iterable[AccessAttempt],
    *,
    source_sa_id: int | None,
    now: dt.datetime,
) -> int:
    """Merge the latest attempts into those kept: first and last time widen,
    the rest is SendGrid's latest word. Addresses no longer listed stay."""
    latest = {a.ip: a for a in attempts}
    stored = {
        row.ip: row
        for row in session.scalars(
            select(AccessAttemptRow).where(
                AccessAttemptRow.integration_id == integration_id,
                AccessAttemptRow.ip.in_(list(latest)),
            )
        )
    }
    owned = _owned(integration_id, source_sa_id, now)
    rows = []
    for ip, attempt in latest.items():
        before = stored.get(ip)
        rows.append(
            {
                **owned,
                "ip": ip,
                "allowed": attempt.allowed,
                "auth_method": attempt.auth_method,
                "location": attempt.location,
                "first_at": _earliest(
                    attempt.first_at, before.first_at if before else None
                ),
                "last_at": _latest(attempt.last_at, before.last_at if before else None),
            }
        )
    return upsert(
        session,
        AccessAttemptRow,
        rows,
        keys=("integration_id", "ip"),
        update=_keep_first_seen(rows),
    )


def list_access_attempts(session: Session, integration_id: int) -> list[AccessAttempt]:
    """Latest first."""
    return [
        AccessAttempt(
            ip=row.ip,
            allowed=row.allowed,
            auth_method=row.auth_method,
            location=row.location,
            first_at=row.first_at,
            last_at=row.last_at,
            first_seen=row.first_seen,
        )
        for row in session.scalars(
            select(AccessAttemptRow)
            .where(AccessAttemptRow.integration_id == integration_id)
            .order_by(AccessAttemptRow.last_at.desc(), AccessAttemptRow.ip)
        )
    ]


def save_validation_jobs(
    session: Session,
    integration_id: int,
    jobs: Iterable[ValidationJob],
    *,
    source_sa_id: int | None,
    now: dt.datetime,
) -> int:
    """Upsert by job id. A job listed without details keeps the segments
    stored for it; jobs SendGrid stops listing stay (they are usage history)."""
    owned = _owned(integration_id, source_sa_id, now)
    rows = [
        {
            **owned,
            "job_id": job.job_id,
            "status": job.status,
            "started_at": job.started_at,
            "finished_at": job.finished_at,
            "segments": job.segments,
            "segments_processed": job.segments_processed,
        }
        for job in jobs
    ]
    return upsert(
        session,
        ValidationJobRow,
        rows,
        keys=("integration_id", "job_id"),
        update=_keep_first_seen(rows),
        keep_when_null=("segments", "segments_processed"),
    )


def list_validation_jobs(session: Session, integration_id: int) -> list[ValidationJob]:
    """Oldest first."""
    return [
        ValidationJob(
            job_id=row.job_id,
            status=row.status,
            started_at=row.started_at,
            finished_at=row.finished_at,
            segments=row.segments,
            segments_processed=row.segments_processed,
        )
        for row in session.scalars(
            select(ValidationJobRow)
            .where(ValidationJobRow.integration_id == integration_id)
            .order_by(ValidationJobRow.started_at, ValidationJobRow.job_id)
        )
    ]


def validation_usage(session: Session, integration_id: int) -> list[ValidationMonth]:
    """Jobs and segments validated per month (smp.model.access)."""
    return validation_months(list_validation_jobs(session, integration_id))
