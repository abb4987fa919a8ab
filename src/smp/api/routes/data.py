"""What SMP collected: members, invites, history, subusers, invoices, usage, volume."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from smp.api.auth import CurrentUser, State
from smp.api.convert import (
    Sources,
    event_out,
    invoice_out,
    member_out,
    subuser_out,
    usage_out,
    volume_out,
)
from smp.api.counts import count_member_events
from smp.api.params import IntegrationParam, Limit, Offset, Search, find_integration
from smp.api.problems import ApiProblem, problem_responses
from smp.api.schemas import (
    PRINTABLE,
    InvoiceOut,
    MemberEventOut,
    MemberOut,
    MonthlyVolumeOut,
    Page,
    SubuserOut,
    UsageOut,
)
from smp.model import EventKind, MemberStatus, Role
from smp.storage import (
    count_members,
    current_usage,
    list_invoices,
    list_member_events,
    list_members,
    list_monthly_volumes,
    list_subusers,
)

router = APIRouter(tags=["collected data"], responses=problem_responses(404))

MemberSort = Literal[
    "email",
    "-email",
    "username",
    "-username",
    "role",
    "-role",
    "status",
    "-status",
    "first_seen",
    "-first_seen",
    "last_seen",
    "-last_seen",
    "last_name",
    "-last_name",
]
SubuserName = Annotated[
    str | None, Query(max_length=200, pattern=PRINTABLE, description="A subuser")
]


@router.get("/members", response_model=Page[MemberOut])
def members(
    integration: IntegrationParam,
    state: State,
    _user: CurrentUser,
    role: Role | None = None,
    status: MemberStatus | None = None,
    q: Search = None,
    sort: MemberSort = "email",
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[MemberOut]:
    """Members (active, pending and removed), filtered, searched and paged."""
    with Session(state.engine) as session:
        find_integration(session, integration)
        found = list_members(
            session,
            integration,
            status=status,
            role=role,
            search=q,
            limit=limit,
            offset=offset,
            sort=sort,
        )
        total = count_members(session, integration, status=status, role=role, search=q)
        source = Sources(session, integration)
    items = [member_out(m, source) for m in found]
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/invites", response_model=Page[MemberOut])
def invites(
    integration: IntegrationParam,
    state: State,
    _user: CurrentUser,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[MemberOut]:
    """Pending invites with their expiry, soonest first."""
    with Session(state.engine) as session:
        find_integration(session, integration)
        found = list_members(
            session, integration, status=MemberStatus.PENDING, sort="status"
        )
        source = Sources(session, integration)
    found.sort(key=lambda m: (m.invite_expires_at is None, m.invite_expires_at))
    items = [member_out(m, source) for m in found[offset : offset + limit]]
    return Page(items=items, total=len(found), limit=limit, offset=offset)


@router.get("/member-events", response_model=Page[MemberEventOut])
def member_events(
    integration: IntegrationParam,
    state: State,
    _user: CurrentUser,
    kind: EventKind | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[MemberEventOut]:
    """Member change history, newest first."""
    with Session(state.engine) as session:
        find_integration(session, integration)
        found = list_member_events(
            session, integration, kind=kind, limit=offset + limit
        )
        total = count_member_events(session, integration, kind)
        source = Sources(session, integration)
    items = [event_out(e, source) for e in found[offset:]]
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/subusers", response_model=Page[SubuserOut])
def subusers(
    integration: IntegrationParam,
    state: State,
    _user: CurrentUser,
    include_removed: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[SubuserOut]:
    with Session(state.engine) as session:
        find_integration(session, integration)
        found = list_subusers(session, integration, include_removed=include_removed)
        source = Sources(session, integration)
    items = [subuser_out(s, source) for s in found[offset : offset + limit]]
    return Page(items=items, total=len(found), limit=limit, offset=offset)


@router.get("/invoices", response_model=Page[InvoiceOut])
def invoices(
    integration: IntegrationParam,
    state: State,
    _user: CurrentUser,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[InvoiceOut]:
    """Invoices, newest first; amounts are exact decimals as text."""
    with Session(state.engine) as session:
        find_integration(session, integration)
        found = list_invoices(session, integration)
        source = Sources(session, integration)
    items = [invoice_out(i, source) for i in found[offset : offset + limit]]
    return Page(items=items, total=len(found), limit=limit, offset=offset)


@router.get("/usage", response_model=UsageOut)
def usage(
    integration: IntegrationParam,
    state: State,
    _user: CurrentUser,
    subuser: SubuserName = None,
) -> UsageOut:
    """Credits of the current period: utilization, forecast at `next_reset`, risk."""
    with Session(state.engine) as session:
        find_integration(session, integration)
        view = current_usage(session, integration, subuser, now=state.context.now())
    if view is None:
        raise ApiProblem(404, "no credit usage collected yet for this account")
    return usage_out(view)


@router.get("/volumes", response_model=Page[MonthlyVolumeOut])
def volumes(
    integration: IntegrationParam,
    state: State,
    _user: CurrentUser,
    subuser: SubuserName = None,
    all_subusers: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[MonthlyVolumeOut]:
    """Monthly e-mail volume, oldest month first (the account, a subuser, or all)."""
    with Session(state.engine) as session:
        find_integration(session, integration)
        found = list_monthly_volumes(
            session, integration, subuser, all_subusers=all_subusers
        )
    items = [volume_out(v) for v in found[offset : offset + limit]]
    return Page(items=items, total=len(found), limit=limit, offset=offset)
