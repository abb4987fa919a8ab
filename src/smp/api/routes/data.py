"""What SMP collected: members, invites, history, subusers, invoices, usage, volume."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from smp.api.access_schemas import ValidationUsageOut
from smp.api.auth import CurrentUser, State
from smp.api.convert import (
    event_out,
    invoice_out,
    member_out,
    subuser_out,
    unreadable_out,
    usage_out,
    volume_out,
)
from smp.api.counts import count_member_events, member_counts
from smp.api.params import IntegrationParam, Limit, Offset, Search, find_integration
from smp.api.problems import ApiProblem, problem_responses
from smp.api.schemas import (
    DataPage,
    InvoiceOut,
    MemberCountsOut,
    MemberEventOut,
    MemberOut,
    MonthlyVolumeOut,
    SubuserOut,
    UnreadableOut,
    UsageOut,
)
from smp.model import EventKind, MemberStatus, Role, ServiceAccount
from smp.runtime.server_state import AppState
from smp.services.input_rules import PRINTABLE
from smp.services.queries import invites_by_expiry
from smp.services.read_shapes import Sources
from smp.services.unreadable import among
from smp.services.validation_usage import validation_json
from smp.storage import (
    current_usage,
    list_invoices,
    list_member_events,
    list_monthly_volumes,
    list_service_accounts,
    list_subusers,
    page_members,
    read_session,
)

R = TypeVar("R")
T = TypeVar("T")

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
    "last_name",
    "-last_name",
]
SubuserName = Annotated[
    str | None, Query(max_length=200, pattern=PRINTABLE, description="A subuser")
]


@contextmanager
def _reading(state: AppState, integration: int) -> Iterator[Session]:
    """A session on a known integration (404 otherwise)."""
    with read_session(state.engine) as session:
        find_integration(session, integration)
        yield session


def _unreadable(keys: Sequence[ServiceAccount], *data: str) -> list[UnreadableOut]:
    """Which of `data` (keys of `smp.services.unreadable.READS`) no key can read."""
    return unreadable_out(among(keys, data))


def _listed(
    state: AppState,
    integration: int,
    fetch: Callable[[Session], Sequence[R]],
    convert: Callable[[R, Sources], T],
    limit: int,
    offset: int,
    reads: Sequence[str],
) -> DataPage[T]:
    """Page over everything `fetch` lists (small collections, sliced here);
    `reads` names the data it holds, to say which of it no key can read."""
    with _reading(state, integration) as session:
        found = fetch(session)
        source = Sources(session, integration)
        missing = _unreadable(source.keys, *reads)
    items = [convert(x, source) for x in found[offset : offset + limit]]
    return DataPage(
        items=items,
        total=len(found),
        limit=limit,
        offset=offset,
        unreadable=missing,
    )


@router.get(
    "/members",
    summary="List, filter and search an integration's members",
    response_model=DataPage[MemberOut],
)
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
) -> DataPage[MemberOut]:
    """Members (active, pending and removed), filtered, searched and paged.

    `q` matches a case-insensitive substring of the email, username, first or
    last name. With `q`, counting stops at 10,000 (`total_exact` false).
    SendGrid has no last-login data: `first_seen` is when SMP first listed a
    member, not activity.
    """
    now = state.context.now()
    with _reading(state, integration) as session:
        found = page_members(
            session,
            integration,
            status=status,
            role=role,
            search=q,
            limit=limit,
            offset=offset,
            sort=sort,
        )
        source = Sources(session, integration)
        missing = _unreadable(source.keys, "members")
    items = [member_out(m, source, now) for m in found.items]
    return DataPage(
        items=items,
        total=found.total,
        total_exact=found.total_exact,
        limit=limit,
        offset=offset,
        unreadable=missing,
    )


@router.get(
    "/invites",
    summary="List pending invites, soonest expiry first",
    response_model=DataPage[MemberOut],
)
def invites(
    integration: IntegrationParam,
    state: State,
    _user: CurrentUser,
    limit: Limit = 50,
    offset: Offset = 0,
) -> DataPage[MemberOut]:
    """Invites SendGrid lists as pending, soonest expiry first.

    Expired ones are listed too, flagged `invite_expired`; `/member-counts`
    counts them apart from the ones that can still be accepted.
    """
    now = state.context.now()
    return _listed(
        state,
        integration,
        lambda session: invites_by_expiry(session, integration),
        lambda member, source: member_out(member, source, now),
        limit,
        offset,
        ("invites",),
    )


@router.get(
    "/member-counts",
    summary="Count members by role, invites and removals",
    response_model=MemberCountsOut,
)
def counts(
    integration: IntegrationParam, state: State, _user: CurrentUser
) -> MemberCountsOut:
    """Active members per role, open and expired invites, removed members."""
    with _reading(state, integration) as session:
        return member_counts(session, integration, state.context.now())


@router.get(
    "/member-events",
    summary="List member changes, newest first",
    response_model=DataPage[MemberEventOut],
)
def member_events(
    integration: IntegrationParam,
    state: State,
    _user: CurrentUser,
    kind: EventKind | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> DataPage[MemberEventOut]:
    """Member change history, newest first.

    An integration's first listings make one `baseline` event with their
    counts instead of an event per member; expiries are dated at the
    invite's expiry.
    """
    with _reading(state, integration) as session:
        found = list_member_events(
            session, integration, kind=kind, limit=offset + limit
        )
        total = count_member_events(session, integration, kind)
        source = Sources(session, integration)
        missing = _unreadable(source.keys, "members")
    items = [event_out(e, source) for e in found[offset:]]
    return DataPage(
        items=items, total=total, limit=limit, offset=offset, unreadable=missing
    )


@router.get(
    "/subusers",
    summary="List subusers with their credits",
    response_model=DataPage[SubuserOut],
)
def subusers(
    integration: IntegrationParam,
    state: State,
    _user: CurrentUser,
    include_removed: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> DataPage[SubuserOut]:
    """Subusers with their credits (`credits_period_ended`: last period's)."""
    now = state.context.now()
    return _listed(
        state,
        integration,
        lambda session: list_subusers(
            session, integration, include_removed=include_removed
        ),
        lambda sub, source: subuser_out(sub, source, now),
        limit,
        offset,
        ("subusers", "subuser_credits"),
    )


@router.get(
    "/invoices",
    summary="List invoices, newest first",
    response_model=DataPage[InvoiceOut],
)
def invoices(
    integration: IntegrationParam,
    state: State,
    _user: CurrentUser,
    limit: Limit = 50,
    offset: Offset = 0,
) -> DataPage[InvoiceOut]:
    """Invoices, newest first; amounts are exact decimals as text."""
    return _listed(
        state,
        integration,
        lambda session: list_invoices(session, integration),
        invoice_out,
        limit,
        offset,
        ("invoices",),
    )


@router.get(
    "/usage",
    summary="Show credit usage and its forecast",
    response_model=UsageOut,
)
def usage(
    integration: IntegrationParam,
    state: State,
    _user: CurrentUser,
    subuser: SubuserName = None,
) -> UsageOut:
    """Credits of the latest period read: utilization, forecast at `next_reset`,
    risk; `period_ended` when it has reset since (then no forecast)."""
    reads = "subuser_credits" if subuser else "credits"
    with _reading(state, integration) as session:
        view = current_usage(session, integration, subuser, now=state.context.now())
        keys = list_service_accounts(session, integration)
        missing = _unreadable(keys, reads)
    if view is None:
        detail = missing[0].message if missing else "no credit usage collected yet"
        raise ApiProblem(404, detail)
    return usage_out(view, missing)


@router.get(
    "/usage/validation",
    summary="Show bulk e-mail validation per month",
    response_model=ValidationUsageOut,
)
def validation_usage(
    integration: IntegrationParam, state: State, _user: CurrentUser
) -> ValidationUsageOut:
    """Jobs and segments per month, and up to segments x 1,500 addresses: an
    upper bound, as SendGrid counts no addresses; single validations are not
    available from SendGrid. Needs the separate e-mail validation key."""
    with _reading(state, integration) as session:
        return ValidationUsageOut.model_validate(validation_json(session, integration))


@router.get(
    "/volumes",
    summary="List monthly e-mail volumes",
    response_model=DataPage[MonthlyVolumeOut],
)
def volumes(
    integration: IntegrationParam,
    state: State,
    _user: CurrentUser,
    subuser: SubuserName = None,
    all_subusers: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> DataPage[MonthlyVolumeOut]:
    """Monthly e-mail volume, oldest month first (the account, a subuser, or all).

    The account's months (`subuser` null) are the parent's own sends: SendGrid
    counts its subusers' apart, so the whole account is their sum.
    """
    with_subusers = all_subusers or subuser is not None
    return _listed(
        state,
        integration,
        lambda session: list_monthly_volumes(
            session, integration, subuser, all_subusers=all_subusers
        ),
        lambda volume, _source: volume_out(volume),
        limit,
        offset,
        ("volume", "subuser_volume") if with_subusers else ("volume",),
    )
