"""Export rows of SSO, the IP allowlist, access per IP and validation (issue M).

Times are ISO 8601 in UTC; what SendGrid does not give is said in words in
its own column, never guessed: access attempts are per IP (no teammate), and
validation is "up to" segments x 1,500 addresses, single validations not
counted.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from smp.model.access import SINGLE_VALIDATIONS
from smp.storage.access import (
    list_access_attempts,
    list_allowlist,
    list_sso,
    list_validation_jobs,
    validation_usage,
)

NOT_PER_USER = "not available from SendGrid (it records access per IP only)"


def _at(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).isoformat() if moment else None


def sso_rows(session: Session, integration_id: int) -> list[dict[str, Any]]:
    """One row per certificate (an integration without one: one row, no cert)."""
    rows = []
    for sso in list_sso(session, integration_id):
        base = {
            "sso_id": sso.sso_id,
            "name": sso.name,
            "enabled": sso.enabled,
            "completed": sso.completed,
            "last_updated": _at(sso.last_updated),
        }
        for cert in sso.certificates or (None,):
            rows.append(
                {
                    **base,
                    "certificate_id": cert.cert_id if cert else None,
                    "not_before": _at(cert.not_before) if cert else None,
                    "not_after": _at(cert.not_after) if cert else None,
                }
            )
    return rows


def allowlist_rows(session: Session, integration_id: int) -> list[dict[str, Any]]:
    return [
        {
            "rule_id": rule.rule_id,
            "ip": rule.ip,
            "created_at": _at(rule.created_at),
            "updated_at": _at(rule.updated_at),
        }
        for rule in list_allowlist(session, integration_id)
    ]


def access_rows(session: Session, integration_id: int) -> list[dict[str, Any]]:
    return [
        {
            "ip": a.ip,
            "allowed": a.allowed,
            "auth_method": a.auth_method,
            "location": a.location,
            "first_at": _at(a.first_at),
            "last_at": _at(a.last_at),
            "first_seen_by_smp": _at(a.first_seen),
            "teammate": NOT_PER_USER,
        }
        for a in list_access_attempts(session, integration_id)
    ]


def validation_job_rows(session: Session, integration_id: int) -> list[dict[str, Any]]:
    return [
        {
            "job_id": job.job_id,
            "status": job.status,
            "started_at": _at(job.started_at),
            "finished_at": _at(job.finished_at),
            "segments": job.segments,
            "segments_processed": job.segments_processed,
        }
        for job in list_validation_jobs(session, integration_id)
    ]


def validation_month_rows(
    session: Session, integration_id: int
) -> list[dict[str, Any]]:
    return [
        {
            "month": m.month.strftime("%Y-%m"),
            "jobs": m.jobs,
            "segments": m.segments,
            "jobs_not_read": m.jobs_not_read,
            "addresses_up_to": m.addresses_up_to,
            "single_validations": SINGLE_VALIDATIONS,
        }
        for m in validation_usage(session, integration_id)
    ]


def access_tables(
    session: Session, integration_id: int
) -> dict[str, list[dict[str, Any]]]:
    """The export's tables of this module, by name."""
    return {
        "sso": sso_rows(session, integration_id),
        "ip_allowlist": allowlist_rows(session, integration_id),
        "access_attempts": access_rows(session, integration_id),
        "validation_jobs": validation_job_rows(session, integration_id),
        "validation_monthly": validation_month_rows(session, integration_id),
    }
