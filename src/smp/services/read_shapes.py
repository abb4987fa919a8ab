"""How stored records read: the API's items (and its exports' rows), and the
JSON shapes the CLI prints and its exports write (documented in the README).

Sources are shown as `SG.<key id>…`, never a key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from sqlalchemy.orm import Session

from smp.model import (
    Invoice,
    Member,
    MemberEvent,
    MemberStatus,
    MonthlyVolume,
    Subuser,
    subuser_credits_ended,
)
from smp.model.volume_trend import VolumeTrend, volume_trend
from smp.services.queries import unreadable_among, whole_account_known
from smp.services.validation_usage import validation_json
from smp.storage import (
    current_usage,
    list_invoices,
    list_member_events,
    list_members,
    list_monthly_volumes,
    list_service_accounts,
    list_subusers,
)


class Sources:
    """Service account id -> how a record's source is shown."""

    def __init__(self, session: Session, integration_id: int) -> None:
        # Every key ever added, removed ones too: a page also asks of them
        # which data no key reads (`smp.services.unreadable` skips the removed).
        self.keys = list_service_accounts(session, integration_id, include_removed=True)
        self._names = {
            sa.id: sa.display_key + (" (removed)" if sa.is_removed else "")
            for sa in self.keys
        }

    def __call__(self, sa_id: int | None) -> str | None:
        return self._names.get(sa_id) if sa_id is not None else None


# --- one record as the API lists it and its exports write it ---------------------
# Keys in the order of the API's response models: an export's columns follow it.


def member_item(member: Member, source: Sources, now: dt.datetime) -> dict[str, Any]:
    """`now` decides whether a pending invite has expired."""
    return {
        "id": member.id,
        "email": member.email,
        "username": member.username,
        "first_name": member.first_name,
        "last_name": member.last_name,
        "role": member.role,
        "status": member.status,
        "is_sso": member.is_sso,
        "invite_expires_at": member.invite_expires_at,
        "invite_expired": member.invite_expired(now),
        "first_seen": member.first_seen,
        "removed_at": member.removed_at,
        "source": source(member.source_service_account_id),
    }


def event_item(event: MemberEvent, source: Sources) -> dict[str, Any]:
    return {
        "id": event.id,
        "kind": event.kind,
        "member_key": event.member_key,
        "email": event.email,
        "username": event.username,
        "old_role": event.old_role,
        "new_role": event.new_role,
        "occurred_at": event.occurred_at,
        "members_found": event.members_found,
        "invites_found": event.invites_found,
        "source": source(event.source_service_account_id),
    }


def subuser_item(sub: Subuser, source: Sources, now: dt.datetime) -> dict[str, Any]:
    return {
        "username": sub.username,
        "email": sub.email,
        "disabled": sub.disabled,
        "region": sub.region,
        "credit_type": sub.credit_type,
        "credits_total": sub.credits_total,
        "credits_used": sub.credits_used,
        "credits_remain": sub.credits_remain,
        "reset_frequency": sub.reset_frequency,
        "credits_read_at": sub.credits_read_at,
        "credits_period_ended": subuser_credits_ended(
            sub.reset_frequency, sub.credits_read_at, now
        ),
        "source": source(sub.source_service_account_id),
    }


def invoice_item(invoice: Invoice, source: Sources) -> dict[str, Any]:
    """Amounts are exact decimals as text."""
    return {
        "invoice_id": invoice.invoice_id,
        "number": invoice.number,
        "date": invoice.date,
        "due_date": invoice.due_date,
        "period_start": invoice.period_start,
        "period_end": invoice.period_end,
        "amount": None if invoice.amount is None else str(invoice.amount),
        "currency": invoice.currency,
        "status": invoice.status,
        "balance": None if invoice.balance is None else str(invoice.balance),
        "source": source(invoice.source_service_account_id),
    }


def volume_item(volume: MonthlyVolume) -> dict[str, Any]:
    return {
        "month": volume.month,
        "subuser": volume.subuser,
        "closed": volume.closed,
        "metrics": asdict(volume.metrics),
    }


# --- the CLI's JSON ---------------------------------------------------------------


def _day(value: dt.date | dt.datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    return value.isoformat()


def _moment(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.isoformat()


def member_json(member: Member, source: Sources, now: dt.datetime) -> dict[str, Any]:
    """`now` decides whether a pending invite has expired."""
    return {
        "username": member.username,
        "email": member.email,
        "first_name": member.first_name,
        "last_name": member.last_name,
        "role": member.role.value,
        "status": member.status.value,
        "is_sso": member.is_sso,
        "invite_expires_at": _moment(member.invite_expires_at),
        "invite_expired": member.invite_expired(now),
        # When SMP first listed it / saw it gone: not activity (SendGrid has
        # no login data).
        "first_seen": _moment(member.first_seen),
        "removed_at": _moment(member.removed_at),
        "source": source(member.source_service_account_id),
    }


def members(
    session: Session,
    integration_id: int,
    *,
    status: MemberStatus | None = None,
    role: Any = None,
    search: str | None = None,
) -> list[dict[str, Any]]:
    source = Sources(session, integration_id)
    at = _now()
    statuses = [status] if status else [MemberStatus.ACTIVE, MemberStatus.PENDING]
    found: list[Member] = []
    for wanted in statuses:
        found += list_members(
            session, integration_id, status=wanted, role=role, search=search
        )
    return [member_json(m, source, at) for m in found]


def invoice_json(invoice: Invoice) -> dict[str, Any]:
    return {
        "id": invoice.invoice_id,
        "number": invoice.number,
        "date": _day(invoice.date),
        "due_date": _day(invoice.due_date),
        "amount": float(invoice.amount) if invoice.amount is not None else None,
        "currency": invoice.currency,
        "status": invoice.status,
        "balance": float(invoice.balance) if invoice.balance is not None else None,
    }


def invoices(session: Session, integration_id: int) -> list[dict[str, Any]]:
    return [invoice_json(i) for i in list_invoices(session, integration_id)]


def subuser_json(subuser: Subuser, now: dt.datetime) -> dict[str, Any]:
    return {
        "username": subuser.username,
        "email": subuser.email,
        "disabled": subuser.disabled,
        "region": subuser.region,
        "credits": {
            "type": subuser.credit_type,
            "total": subuser.credits_total,
            "used": subuser.credits_used,
            "remain": subuser.credits_remain,
            "reset_frequency": subuser.reset_frequency,
            "period_ended": subuser_credits_ended(
                subuser.reset_frequency, subuser.credits_read_at, now
            ),
        },
    }


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def subusers(session: Session, integration_id: int) -> list[dict[str, Any]]:
    moment = _now()
    return [subuser_json(s, moment) for s in list_subusers(session, integration_id)]


def unreadable(
    session: Session, integration_id: int, data: Iterable[str]
) -> list[dict[str, Any]]:
    """Which of `data` (keys of `smp.services.unreadable.READS`) no key can read."""
    return [
        {"data": u.data, "missing_scopes": list(u.missing), "message": u.message}
        for u in unreadable_among(session, integration_id, data)
    ]


def _month_json(volume: MonthlyVolume) -> dict[str, Any]:
    return {"month": volume.month.strftime("%Y-%m"), **asdict(volume.metrics)}


def usage(session: Session, integration_id: int) -> dict[str, Any]:
    view = current_usage(session, integration_id, now=_now())
    volumes = list_monthly_volumes(session, integration_id, all_subusers=True)
    reads = ("credits", "volume", "subuser_volume")
    missing = unreadable(session, integration_id, reads)
    per_subuser: dict[str, list[dict[str, Any]]] = {}
    for volume in volumes:
        if volume.subuser is not None:
            per_subuser.setdefault(volume.subuser, []).append(_month_json(volume))
    credits = None
    if view is not None:
        period = view.period
        credits = {
            "total": period.total,
            "used": period.used,
            "remain": period.remain,
            "overage": period.overage,
            "last_reset": _day(period.last_reset),
            "next_reset": _day(period.next_reset),
            "reset_frequency": period.reset_frequency,
        }
    return {
        "credits": credits,
        "utilization": view.utilization if view else None,
        "forecast_used_at_reset": view.forecast_used if view else None,
        "overage_risk": view.overage_risk if view else None,
        "period_ended": view.ended if view else None,
        # The parent account's own sends: SendGrid counts subusers' apart.
        "monthly": [_month_json(v) for v in volumes if v.subuser is None],
        "subusers": [
            {"username": name, "monthly": months}
            for name, months in sorted(per_subuser.items())
        ],
        "volume_trend": _trend_json(volume_trend(volumes), missing),
        "unreadable": missing,
        # Bulk jobs per month, an upper bound in addresses (issue M).
        "validation": validation_json(session, integration_id),
    }


def _trend_json(trend: VolumeTrend, missing: list[dict[str, Any]]) -> dict[str, Any]:
    """Requests from the first month with sends: the parent's own, the
    subusers' sum and the whole account (null when subusers' are unreadable)."""
    readable = whole_account_known({u["data"] for u in missing})
    return {
        "months": [m.strftime("%Y-%m") for m in trend.months],
        "parent_own": trend.parent,
        "subusers_sum": trend.subuser_sums if readable else None,
        "whole_account": trend.totals if readable else None,
    }


def event_json(event: MemberEvent) -> dict[str, Any]:
    return {
        "kind": event.kind.value,
        "at": _moment(event.occurred_at),
        "email": event.email,
        "username": event.username,
        "old_role": event.old_role.value if event.old_role else None,
        "new_role": event.new_role.value if event.new_role else None,
        # `baseline` only: the first listings' sizes (null: not read yet).
        "members_found": event.members_found,
        "invites_found": event.invites_found,
        "summary": event.baseline_text,
    }


def history(session: Session, integration_id: int) -> list[dict[str, Any]]:
    return [
        event_json(e) for e in list_member_events(session, integration_id, limit=None)
    ]
