"""The JSON shapes the CLI prints and exports write (documented in the README)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from sqlalchemy.orm import Session

from smp.api.convert import Sources
from smp.api.unreadable import unreadable as find_unreadable
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
from smp.storage import (
    current_usage,
    list_invoices,
    list_member_events,
    list_members,
    list_monthly_volumes,
    list_service_accounts,
    list_subusers,
)


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
    """Which of `data` (keys of `smp.api.unreadable.READS`) no key can read."""
    found = find_unreadable(list_service_accounts(session, integration_id))
    return [
        {"data": u.data, "missing_scopes": list(u.missing), "message": u.message}
        for name in data
        if (u := found.get(name)) is not None
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
    }


def _trend_json(trend: VolumeTrend, missing: list[dict[str, Any]]) -> dict[str, Any]:
    """Requests from the first month with sends: the parent's own, the
    subusers' sum and the whole account (null when subusers' are unreadable)."""
    readable = all(u["data"] != "subuser_volume" for u in missing)
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
