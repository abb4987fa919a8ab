"""What the dashboard shows, gathered in one read: members, money, usage, volume.

Chart series are plain lists handed to the page as JSON; `static/charts.js`
draws them with Plotly. Every chart has a table beside it with the same data,
for screen readers and for the numbers themselves.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from smp.model import (
    Integration,
    Invoice,
    Member,
    MemberEvent,
    MemberStatus,
    Outcome,
    Role,
    ServiceAccount,
    Subuser,
    SyncRun,
    UsageView,
    subuser_credits_ended,
)
from smp.model.volume_trend import VolumeTrend, volume_trend
from smp.services.queries import invites_by_expiry, whole_account_known
from smp.services.unreadable import Unreadable, unreadable
from smp.services.validation_usage import validation_json
from smp.storage import (
    InviteCounts,
    count_invites,
    count_members,
    count_members_by_role,
    current_usage,
    list_invoices,
    list_member_events,
    list_members,
    list_monthly_volumes,
    list_service_accounts,
    list_subusers,
    list_sync_runs,
)
from smp.vocabulary import Capability

PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class MemberQuery:
    role: Role | None = None
    status: MemberStatus | None = None
    q: str = ""
    sort: str = "email"
    page: int = 1


@dataclass(slots=True)
class Dashboard:
    integration: Integration
    keys: list[ServiceAccount]
    roles: dict[Role, int]
    members: list[Member]
    members_total: int
    invites: list[Member]
    # Expired invites are still listed as pending by SendGrid; not counted as such.
    invite_counts: InviteCounts
    invoices: list[Invoice]
    invoice_totals: dict[str, Decimal]
    usage: UsageView | None
    subusers: list[Subuser]
    subuser_requests: dict[str, int]
    volume: VolumeTrend
    # Data no connected key can read (keys of smp.services.unreadable.READS).
    unreadable: dict[str, Unreadable]
    events: list[MemberEvent]
    last_run: SyncRun | None
    charts: dict[str, Any] = field(default_factory=dict)
    # Bulk e-mail validation per month (smp.services.validation_usage).
    validation: dict[str, Any] = field(default_factory=dict)

    @property
    def whole_account(self) -> bool:
        """Show the subusers' sends and the whole account beside the parent's:
        known, and telling more than the parent's own sends (there are subusers)."""
        return whole_account_known(self.unreadable) and bool(self.volume.subusers)

    @property
    def attention(self) -> list[ServiceAccount]:
        return [k for k in self.keys if k.status.value != "ok"]

    @property
    def invoices_unavailable(self) -> bool:
        """The last sync got no invoices from SendGrid, without a fault (ADR 3)."""
        detail = (
            self.last_run.capabilities.get(Capability.INVOICES)
            if self.last_run
            else None
        )
        return detail is not None and detail.get("outcome") == Outcome.UNAVAILABLE

    def subuser_credits_ended(self, subuser: Subuser, now: dt.datetime) -> bool:
        return subuser_credits_ended(
            subuser.reset_frequency, subuser.credits_read_at, now
        )

    @property
    def pages(self) -> int:
        return max(1, -(-self.members_total // PAGE_SIZE))


def _spend_chart(invoices: list[Invoice]) -> dict[str, Any]:
    dated = sorted(
        (i for i in invoices if i.date and i.amount is not None),
        key=lambda i: i.date or dt.date.min,
    )
    return {
        "x": [i.date.isoformat() for i in dated if i.date],
        "y": [float(i.amount or 0) for i in dated],
        "currency": dated[0].currency if dated else None,
    }


def _volume_trend(
    session: Session, integration_id: int
) -> tuple[VolumeTrend, dict[str, int]]:
    """The trend, and each subuser's requests over all stored months."""
    volumes = list_monthly_volumes(session, integration_id, all_subusers=True)
    totals: dict[str, int] = defaultdict(int)
    for volume in volumes:
        if volume.subuser is not None:
            totals[volume.subuser] += volume.metrics.requests
    return volume_trend(volumes), dict(totals)


def _volume_chart(trend: VolumeTrend, whole_account: bool) -> dict[str, Any]:
    """The parent's own sends and each subuser's, stacked; their sum is the
    whole account (`Dashboard.whole_account` says when it is drawn)."""
    return {
        "months": [m.isoformat()[:7] for m in trend.months],
        "parent": trend.parent,
        "subusers": trend.subusers,
        "total": trend.totals if whole_account else None,
    }


def gather(
    session: Session, integration: Integration, query: MemberQuery, now: dt.datetime
) -> Dashboard:
    iid = integration.id
    filters: dict[str, Any] = {
        "role": query.role,
        "status": query.status,
        "search": query.q or None,
    }
    members = list_members(
        session,
        iid,
        **filters,
        sort=query.sort,
        limit=PAGE_SIZE,
        offset=(query.page - 1) * PAGE_SIZE,
    )
    invites = invites_by_expiry(session, iid)
    invoices = list_invoices(session, iid)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for invoice in invoices:
        if invoice.amount is not None:
            totals[invoice.currency or ""] += invoice.amount
    trend, subuser_requests = _volume_trend(session, iid)
    usage = current_usage(session, iid, now=now)
    runs = list_sync_runs(session, iid, limit=1)
    keys = list_service_accounts(session, iid)
    missing = unreadable(keys)
    board = Dashboard(
        integration=integration,
        keys=keys,
        roles=count_members_by_role(session, iid),
        members=members,
        members_total=count_members(session, iid, **filters),
        invites=invites,
        invite_counts=count_invites(session, iid, now),
        invoices=invoices,
        invoice_totals=dict(totals),
        usage=usage,
        subusers=list_subusers(session, iid),
        subuser_requests=subuser_requests,
        volume=trend,
        unreadable=missing,
        events=list_member_events(session, iid, limit=25),
        last_run=runs[0] if runs else None,
    )
    board.validation = validation_json(session, iid)
    board.charts = {
        "spend": _spend_chart(invoices),
        "volume": _volume_chart(trend, board.whole_account),
    }
    if usage is not None:
        board.charts["usage"] = {
            "used": usage.period.used,
            "total": usage.period.total,
            "forecast": usage.forecast_used,
        }
    return board
