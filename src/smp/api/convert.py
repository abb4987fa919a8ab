"""Domain records -> API response models (sources shown as `SG.<key id>…`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict

from sqlalchemy.orm import Session

from smp.api.schemas import (
    IntegrationOut,
    InvoiceOut,
    KeyCheck,
    MemberEventOut,
    MemberOut,
    MonthlyVolumeOut,
    ServiceAccountOut,
    SubuserOut,
    SyncRunOut,
    UnreadableOut,
    UsageOut,
)
from smp.api.unreadable import Unreadable
from smp.model import (
    Integration,
    Invoice,
    KeyStatus,
    Member,
    MemberEvent,
    MonthlyVolume,
    ServiceAccount,
    Subuser,
    SyncRun,
    UsageView,
    subuser_credits_ended,
)
from smp.sendgrid import KeyReport
from smp.storage import list_service_accounts


class Sources:
    """Service account id -> how a record's source is shown."""

    def __init__(self, session: Session, integration_id: int) -> None:
        # Every key ever added, removed ones too: a page also asks of them
        # which data no key reads (`smp.api.unreadable` skips the removed).
        self.keys = list_service_accounts(session, integration_id, include_removed=True)
        self._names = {
            sa.id: sa.display_key + (" (removed)" if sa.is_removed else "")
            for sa in self.keys
        }

    def __call__(self, sa_id: int | None) -> str | None:
        return self._names.get(sa_id) if sa_id is not None else None


def integration_out(
    session: Session,
    integration: Integration,
    *,
    default_interval_s: int,
    syncing: bool,
) -> IntegrationOut:
    keys = list_service_accounts(session, integration.id)
    return IntegrationOut(
        id=integration.id,
        name=integration.name,
        region=integration.region,
        created_at=integration.created_at,
        sync_interval_s=integration.sync_interval_s or default_interval_s,
        last_sync_at=integration.last_sync_at,
        syncing=syncing,
        service_accounts=len(keys),
        needs_attention=sum(k.status is not KeyStatus.OK for k in keys),
        billing_confirmed_by=integration.billing_confirmed_by,
        billing_confirmed_at=integration.billing_confirmed_at,
    )


def service_account_out(sa: ServiceAccount) -> ServiceAccountOut:
    return ServiceAccountOut(
        id=sa.id,
        integration_id=sa.integration_id,
        label=sa.label,
        key=sa.display_key,
        kind=sa.kind,
        status=sa.status,
        scopes=list(sa.scopes),
        capabilities=list(sa.capabilities),
        missing=dict(sa.missing),
        last_sync_at=sa.last_sync_at,
        last_error=sa.last_error,
        created_at=sa.created_at,
        removed_at=sa.removed_at,
    )


def key_check(report: KeyReport) -> KeyCheck:
    return KeyCheck(
        kind=report.kind.value,
        account=report.account,
        capabilities=dict(report.capabilities),
        missing={k: list(v) for k, v in report.missing.items()},
        fixes=report.fixes(),
        warnings=list(report.warnings),
        write_scopes=list(report.write_scopes),
    )


def member_out(member: Member, source: Sources, now: dt.datetime) -> MemberOut:
    """`now` decides whether a pending invite has expired."""
    return MemberOut(
        id=member.id,
        email=member.email,
        username=member.username,
        first_name=member.first_name,
        last_name=member.last_name,
        role=member.role,
        status=member.status,
        is_sso=member.is_sso,
        invite_expires_at=member.invite_expires_at,
        invite_expired=member.invite_expired(now),
        first_seen=member.first_seen,
        removed_at=member.removed_at,
        source=source(member.source_service_account_id),
    )


def event_out(event: MemberEvent, source: Sources) -> MemberEventOut:
    return MemberEventOut(
        id=event.id,
        kind=event.kind,
        member_key=event.member_key,
        email=event.email,
        username=event.username,
        old_role=event.old_role,
        new_role=event.new_role,
        occurred_at=event.occurred_at,
        members_found=event.members_found,
        invites_found=event.invites_found,
        source=source(event.source_service_account_id),
    )


def subuser_out(sub: Subuser, source: Sources, now: dt.datetime) -> SubuserOut:
    return SubuserOut(
        username=sub.username,
        email=sub.email,
        disabled=sub.disabled,
        region=sub.region,
        credit_type=sub.credit_type,
        credits_total=sub.credits_total,
        credits_used=sub.credits_used,
        credits_remain=sub.credits_remain,
        reset_frequency=sub.reset_frequency,
        credits_read_at=sub.credits_read_at,
        credits_period_ended=subuser_credits_ended(
            sub.reset_frequency, sub.credits_read_at, now
        ),
        source=source(sub.source_service_account_id),
    )


def invoice_out(invoice: Invoice, source: Sources) -> InvoiceOut:
    return InvoiceOut(
        invoice_id=invoice.invoice_id,
        number=invoice.number,
        date=invoice.date,
        due_date=invoice.due_date,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        amount=None if invoice.amount is None else str(invoice.amount),
        currency=invoice.currency,
        status=invoice.status,
        balance=None if invoice.balance is None else str(invoice.balance),
        source=source(invoice.source_service_account_id),
    )


def unreadable_out(found: Iterable[Unreadable]) -> list[UnreadableOut]:
    return [
        UnreadableOut(data=u.data, missing_scopes=list(u.missing), message=u.message)
        for u in found
    ]


def usage_out(view: UsageView, unreadable: Iterable[UnreadableOut] = ()) -> UsageOut:
    period = view.period
    return UsageOut(
        subuser=period.subuser,
        last_reset=period.last_reset,
        next_reset=period.next_reset,
        total=period.total,
        used=period.used,
        remain=period.remain,
        overage=period.overage,
        utilization=view.utilization,
        forecast_used_at_reset=view.forecast_used,
        overage_risk=view.overage_risk,
        observed_at=period.observed_at,
        period_ended=view.ended,
        unreadable=list(unreadable),
    )


def volume_out(volume: MonthlyVolume) -> MonthlyVolumeOut:
    return MonthlyVolumeOut(
        month=volume.month,
        subuser=volume.subuser,
        closed=volume.closed,
        metrics=asdict(volume.metrics),
    )


def run_out(run: SyncRun) -> SyncRunOut:
    return SyncRunOut(
        id=run.id,
        integration_id=run.integration_id,
        trigger=run.trigger,
        started_at=run.started_at,
        finished_at=run.finished_at,
        outcome=run.outcome,
        capabilities=run.capabilities,
        requests=run.requests,
        retries=run.retries,
        rate_limit_waits=run.rate_limit_waits,
        errors=list(run.errors),
    )


def moment(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()
