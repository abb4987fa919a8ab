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
)
from smp.storage import (
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
    invoices: list[Invoice]
    invoice_totals: dict[str, Decimal]
    usage: UsageView | None
    subusers: list[Subuser]
    subuser_requests: dict[str, int]
    events: list[MemberEvent]
    last_run: SyncRun | None
    charts: dict[str, Any] = field(default_factory=dict)

    @property
    def attention(self) -> list[ServiceAccount]:
        return [k for k in self.keys if k.status.value != "ok"]

    @property
    def invoices_unavailable(self) -> bool:
        """The last sync got no invoices from SendGrid, without a fault (ADR 3)."""
        detail = self.last_run.capabilities.get("invoices") if self.last_run else None
        return detail is not None and detail.get("outcome") == Outcome.UNAVAILABLE

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


def _volume_charts(
    session: Session, integration_id: int
) -> tuple[dict[str, Any], dict[str, int]]:
    volumes = list_monthly_volumes(session, integration_id, all_subusers=True)
    account: dict[str, int] = {}
    per_subuser: dict[str, dict[str, int]] = defaultdict(dict)
    totals: dict[str, int] = defaultdict(int)
    for volume in volumes:
        month = volume.month.isoformat()[:7]
        if volume.subuser is None:
            account[month] = volume.metrics.requests
        else:
            per_subuser[volume.subuser][month] = volume.metrics.requests
            totals[volume.subuser] += volume.metrics.requests
    months = sorted(account)
    chart = {
        "months": months,
        "account": [account[m] for m in months],
        "subusers": {
            name: [series.get(m, 0) for m in months]
            for name, series in sorted(per_subuser.items())
        },
    }
    return chart, dict(totals)


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
    # sort="status" walks the (status, role) index; invites are re-ordered below.
    invites = list_members(session, iid, status=MemberStatus.PENDING, sort="status")
    invites.sort(key=lambda m: (m.invite_expires_at is None, m.invite_expires_at))
    invoices = list_invoices(session, iid)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for invoice in invoices:
        if invoice.amount is not None:
            totals[invoice.currency or ""] += invoice.amount
    volume_chart, subuser_requests = _volume_charts(session, iid)
    usage = current_usage(session, iid, now=now)
    runs = list_sync_runs(session, iid, limit=1)
    board = Dashboard(
        integration=integration,
        keys=list_service_accounts(session, iid),
        roles=count_members_by_role(session, iid),
        members=members,
        members_total=count_members(session, iid, **filters),
        invites=invites,
        invoices=invoices,
        invoice_totals=dict(totals),
        usage=usage,
        subusers=list_subusers(session, iid),
        subuser_requests=subuser_requests,
        events=list_member_events(session, iid, limit=25),
        last_run=runs[0] if runs else None,
    )
    board.charts = {"spend": _spend_chart(invoices), "volume": volume_chart}
    if usage is not None:
        board.charts["usage"] = {
            "used": usage.period.used,
            "total": usage.period.total,
            "forecast": usage.forecast_used,
        }
    return board
