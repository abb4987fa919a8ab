"""Pure translations from SendGrid's wire records to SMP's domain records."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import fields

from smp.model import (
    AccountIdentity,
    Invoice,
    ListedInvite,
    ListedTeammate,
    MonthlyVolume,
    Subuser,
    UsagePeriod,
    VolumeMetrics,
    month_start,
    period_start,
    role_from_user_type,
)
from smp.sendgrid import wire
from smp.sync.fetch import Identity, SubuserListing

_METRIC_NAMES = tuple(f.name for f in fields(VolumeMetrics))


def identity(fetched: Identity, source: int) -> AccountIdentity:
    return AccountIdentity(
        username=fetched.username.username,
        user_id=fetched.username.user_id,
        account_type=fetched.account.type,
        source_service_account_id=source,
    )


def teammate(item: wire.Teammate) -> ListedTeammate:
    return ListedTeammate(
        username=item.username,
        email=item.email,
        first_name=item.first_name,
        last_name=item.last_name,
        role=role_from_user_type(item.user_type, item.is_admin),
        is_sso=item.is_sso,
    )


def invite(item: wire.PendingInvite) -> ListedInvite:
    expires = (
        dt.datetime.fromtimestamp(item.expiration_date, tz=dt.UTC)
        if item.expiration_date is not None
        else None
    )
    return ListedInvite(
        email=item.email,
        is_admin=item.is_admin,
        expires_at=expires,
        token=item.token or item.pending_id,
    )


def subusers(listing: SubuserListing) -> list[Subuser]:
    result = []
    for item in listing.subusers:
        credits = listing.credits.get(item.username) if listing.credits else None
        result.append(
            Subuser(
                username=item.username,
                sendgrid_id=item.id,
                email=item.email,
                disabled=item.disabled,
                region=item.region,
                credit_type=credits.type if credits else None,
                credits_total=credits.total if credits else None,
                credits_used=credits.used if credits else None,
                credits_remain=credits.remain if credits else None,
                reset_frequency=credits.reset_frequency if credits else None,
            )
        )
    return result


def subuser_periods(
    listing: SubuserListing, today: dt.date, source: int
) -> list[UsagePeriod]:
    """A usage snapshot per subuser with credits; they carry no reset dates."""
    return [
        UsagePeriod(
            last_reset=period_start(credits.reset_frequency, today),
            next_reset=None,
            total=credits.total,
            used=credits.used,
            remain=credits.remain,
            reset_frequency=credits.reset_frequency,
            credit_type=credits.type,
            subuser=name,
            source_service_account_id=source,
        )
        for name, credits in (listing.credits or {}).items()
    ]


def usage_period(credits: wire.UserCredits, today: dt.date, source: int) -> UsagePeriod:
    last_reset = credits.last_reset or period_start(credits.reset_frequency, today)
    return UsagePeriod(
        last_reset=last_reset,
        next_reset=credits.next_reset,
        total=credits.total,
        used=credits.used,
        remain=credits.remain,
        overage=credits.overage,
        reset_frequency=credits.reset_frequency,
        source_service_account_id=source,
    )


def metrics(entry: wire.Metrics) -> VolumeMetrics:
    return VolumeMetrics(**{name: getattr(entry, name) for name in _METRIC_NAMES})


def monthly_volumes(
    days: Iterable[wire.StatsDay], subuser: str | None, source: int
) -> list[MonthlyVolume]:
    """One record per month; a month split over several rows is summed."""
    totals: dict[dt.date, dict[str, int]] = {}
    for day in days:
        month = month_start(day.date)
        bucket = totals.setdefault(month, dict.fromkeys(_METRIC_NAMES, 0))
        for entry in day.stats:
            for name in _METRIC_NAMES:
                bucket[name] += getattr(entry.metrics, name)
    return [
        MonthlyVolume(
            month=month,
            metrics=VolumeMetrics(**values),
            subuser=subuser,
            source_service_account_id=source,
        )
        for month, values in sorted(totals.items())
    ]


def invoice(item: wire.Invoice, source: int) -> Invoice | None:
    """None when SendGrid sent an invoice without any identifier."""
    invoice_id = item.id or item.invoice_number
    if invoice_id is None:
        return None
    return Invoice(
        invoice_id=str(invoice_id),
        number=item.invoice_number,
        date=item.date,
        due_date=item.due_date,
        period_start=item.period_start,
        period_end=item.period_end,
        amount=item.amount,
        currency=item.currency,
        status=item.status,
        balance=item.balance if item.balance is not None else item.unpaid_balance,
        source_service_account_id=source,
    )
