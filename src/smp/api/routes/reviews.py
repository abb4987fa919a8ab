"""`/reviews`: access review campaigns, their items, decisions and sign-off.

Admins create campaigns, see every item and sign off; another user is a
reviewer: they see and decide only the items assigned to them (403 for
someone else's). 409: a closed campaign, or a sign-off with undecided items;
422: a bad filter or a decision without its reason. docs/reviews.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request

from smp.api.auth import AdminUser, CurrentUser, State
from smp.api.params import IdPath, Limit, Offset
from smp.api.problems import problem_responses
from smp.api.refusals import problem
from smp.api.review_schemas import (
    CampaignDetailOut,
    CampaignIn,
    CampaignOut,
    DecidedOut,
    DecisionIn,
    ItemOut,
)
from smp.api.schemas import Page
from smp.model.reviews import Campaign, ReviewItem
from smp.model.users import User
from smp.services import reviews
from smp.services.input_rules import PRINTABLE
from smp.services.refusals import Refused
from smp.services.reviews import Actor

router = APIRouter(prefix="/reviews", tags=["reviews"])
T = TypeVar("T")


def _answer(use_case: Callable[[], T]) -> T:
    try:
        return use_case()
    except Refused as error:
        raise problem(error) from None


def _actor(user: User, request: Request) -> Actor:
    source = request.client.host if request.client else "api"
    return Actor(user.name, user.is_admin, source)


def _campaign(campaign: Campaign, names: dict[int, str]) -> dict[str, Any]:
    return {
        "id": campaign.id,
        "name": campaign.name,
        "status": campaign.status,
        "integrations": [names.get(i, str(i)) for i in campaign.integration_ids],
        "due": campaign.due,
        "items": campaign.items,
        "decided": campaign.decided,
    }


def _detail(campaign: Campaign, names: dict[int, str]) -> CampaignDetailOut:
    return CampaignDetailOut(
        **_campaign(campaign, names),
        reviewer_rule=campaign.reviewer_rule,
        created_by=campaign.created_by,
        created_at=campaign.created_at,
        signed_off_by=campaign.signed_off_by,
        signed_off_at=campaign.signed_off_at,
        snapshot_sha256=campaign.snapshot_sha256,
    )


def _item(item: ReviewItem, names: dict[int, str]) -> ItemOut:
    return ItemOut(
        item_id=item.id,
        integration=names.get(item.integration_id, str(item.integration_id)),
        email=item.email,
        role=item.role,
        classification=item.classification,
        reviewer=item.reviewer,
        decision=item.decision,
        reason=item.reason,
        decided_by=item.decided_by,
        decided_at=item.decided_at,
        remediation=item.remediation.value,
    )


@router.get("", summary="Review campaigns", response_model=list[CampaignOut])
def list_campaigns(
    state: State, user: CurrentUser, request: Request
) -> list[CampaignOut]:
    """Admins: every campaign; a reviewer: those with items assigned to them."""
    names = reviews.integration_names(state.engine)
    return [
        CampaignOut(**_campaign(c, names))
        for c in reviews.list_campaigns(state.engine, _actor(user, request))
    ]


@router.post(
    "",
    summary="Start a campaign: freeze the integrations' accounts",
    response_model=CampaignDetailOut,
    status_code=201,
    responses=problem_responses(403, 404, 409),
)
def create(
    body: CampaignIn, state: State, user: AdminUser, request: Request
) -> CampaignDetailOut:
    created = _answer(
        lambda: reviews.create_campaign(
            state.engine,
            name=body.name,
            integrations=body.integrations,
            due=body.due,
            rule=body.reviewer_rule,
            actor=_actor(user, request),
            now=state.context.now(),
        )
    )
    return _detail(created, reviews.integration_names(state.engine))


@router.get(
    "/{campaign_id}",
    summary="One campaign",
    response_model=CampaignDetailOut,
    responses=problem_responses(404),
)
def show(
    campaign_id: IdPath, state: State, user: CurrentUser, request: Request
) -> CampaignDetailOut:
    found = _answer(
        lambda: reviews.campaign_detail(
            state.engine, campaign_id, _actor(user, request)
        )
    )
    return _detail(found, reviews.integration_names(state.engine))


@router.get(
    "/{campaign_id}/items",
    summary="A campaign's items, a page at a time (a reviewer: own items only)",
    response_model=Page[ItemOut],
    responses=problem_responses(403, 404),
)
def items(
    campaign_id: IdPath,
    state: State,
    user: CurrentUser,
    request: Request,
    filter_: Annotated[
        str | None,
        Query(
            alias="filter",
            max_length=1000,
            description="e.g. classification=employee and department=Marketing",
        ),
    ] = None,
    reviewer: Annotated[str | None, Query(max_length=64, pattern=PRINTABLE)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[ItemOut]:
    """In item order; `total` counts every item that matches."""
    found, total = _answer(
        lambda: reviews.page_items(
            state.engine,
            campaign_id,
            _actor(user, request),
            expression=filter_,
            reviewer=reviewer,
            limit=limit,
            offset=offset,
        )
    )
    names = reviews.integration_names(state.engine)
    return Page(
        items=[_item(i, names) for i in found], total=total, limit=limit, offset=offset
    )


@router.post(
    "/{campaign_id}/decisions",
    summary="Decide items by id or by filter",
    response_model=DecidedOut,
    responses=problem_responses(403, 404, 409),
)
def decide(
    campaign_id: IdPath,
    body: DecisionIn,
    state: State,
    user: CurrentUser,
    request: Request,
) -> DecidedOut:
    """All or nothing: someone else's item (403) or a closed campaign (409)
    leaves every item as it was."""
    done = _answer(
        lambda: reviews.decide(
            state.engine,
            campaign_id,
            _actor(user, request),
            body.decision,
            item_ids=body.items,
            expression=body.filter,
            new_role=body.role,
            reason=body.reason,
            override=body.override,
            now=state.context.now(),
        )
    )
    return DecidedOut(decided=done.changed, already_decided=done.already_decided)


@router.post(
    "/{campaign_id}/signoff",
    summary="Sign off a campaign whose every item is decided",
    response_model=CampaignDetailOut,
    responses=problem_responses(403, 404, 409),
)
def signoff(
    campaign_id: IdPath, state: State, user: AdminUser, request: Request
) -> CampaignDetailOut:
    closed = _answer(
        lambda: reviews.sign_off(
            state.engine, campaign_id, _actor(user, request), now=state.context.now()
        )
    )
    return _detail(closed, reviews.integration_names(state.engine))
