"""Domain records -> API response models (their fields: `smp.services.read_shapes`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

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
)
from smp.sendgrid import KeyReport
from smp.services.read_shapes import (
    Sources,
    event_item,
    invoice_item,
    member_item,
    subuser_item,
    volume_item,
)
from smp.services.unreadable import Unreadable
from smp.storage import list_service_accounts


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
    return MemberOut(**member_item(member, source, now))


def event_out(event: MemberEvent, source: Sources) -> MemberEventOut:
    return MemberEventOut(**event_item(event, source))


def subuser_out(sub: Subuser, source: Sources, now: dt.datetime) -> SubuserOut:
    return SubuserOut(**subuser_item(sub, source, now))


def invoice_out(invoice: Invoice, source: Sources) -> InvoiceOut:
    return InvoiceOut(**invoice_item(invoice, source))


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
    return MonthlyVolumeOut(**volume_item(volume))


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
