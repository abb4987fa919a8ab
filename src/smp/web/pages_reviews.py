"""Access reviews: the campaigns list, a new campaign, and who reviews each
integration. One campaign's page and its decisions are in
smp.web.pages_review_decisions (included here).

Admins see every campaign and start them; any other user is a reviewer who
sees the campaigns holding items assigned to them.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from smp.model.reviews import ReviewerRule
from smp.services import refusals, review_pages, reviews
from smp.storage import list_integrations, read_session
from smp.storage.users import list_users
from smp.web import pages_review_decisions
from smp.web.deps import PagesDep
from smp.web.flash import redirect_saying
from smp.web.forms import FormText
from smp.web.pages_review_decisions import actor_of, is_overdue
from smp.web.session import Refused, SignedIn, SignedInUser, check_csrf, require_admin

router = APIRouter(include_in_schema=False)
router.include_router(pages_review_decisions.router)

RULES = {
    ReviewerRule.OWNER.value: "the integration's reviewer",
    ReviewerRule.MANAGER.value: "the person's manager",
}
# The form's field for each refusal of create_campaign; others go on top.
FIELDS = ("name", "integrations", "due", "reviewer_rule")


@router.get("/reviews")
def reviews_page(request: Request, who: SignedInUser, pages: PagesDep) -> Response:
    engine = who.state.engine
    campaigns = reviews.list_campaigns(engine, actor_of(who, request))
    today = who.state.context.now().date()
    return pages.render(
        request,
        "reviews.html",
        who,
        campaigns=campaigns,
        overdue={c.id for c in campaigns if is_overdue(c, today)},
        names=reviews.integration_names(engine),
    )


def _new_page(
    request: Request,
    who: SignedIn,
    pages: PagesDep,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    entered: dict[str, object] | None = None,
) -> Response:
    engine = who.state.engine
    with read_session(engine) as session:
        integrations = list_integrations(session)
        users = list_users(session)
    return pages.render(
        request,
        "review_new.html",
        who,
        status=status,
        integrations=integrations,
        users=users,
        owners=review_pages.review_owners(engine),
        rules=RULES,
        errors=errors or {},
        entered=entered or {"integrations": [], "reviewer_rule": "manager"},
        today=who.state.context.now().date().isoformat(),
    )


@router.get("/reviews/new")
def new_page(request: Request, who: SignedInUser, pages: PagesDep) -> Response:
    require_admin(who)
    return _new_page(request, who, pages)


def _due(text: str) -> dt.date | None:
    if not text.strip():
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise refusals.Refused(
            "give the due date as YYYY-MM-DD, e.g. 2027-01-31", field="due"
        ) from None


def _rule(text: str) -> ReviewerRule:
    try:
        return ReviewerRule(text)
    except ValueError:
        raise refusals.Refused(
            "choose who reviews: the integration's reviewer or the person's manager",
            field="reviewer_rule",
        ) from None


@router.post("/reviews/new")
def create(
    request: Request,
    who: SignedInUser,
    pages: PagesDep,
    name: FormText = "",
    integrations: Annotated[list[str] | None, Form()] = None,
    due: FormText = "",
    reviewer_rule: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    check_csrf(who.csrf, csrf_token)
    require_admin(who)
    chosen = [i for i in (integrations or []) if i.isascii() and i.isdigit()]
    entered: dict[str, object] = {
        "name": name,
        "integrations": chosen,
        "due": due[:10],
        "reviewer_rule": reviewer_rule,
    }
    try:
        created = reviews.create_campaign(
            who.state.engine,
            name=name,
            integrations=chosen,
            due=_due(due),
            rule=_rule(reviewer_rule),
            actor=actor_of(who, request),
            now=who.state.context.now(),
        )
    except refusals.Refused as error:
        field = error.field if error.field in FIELDS else "form"
        if error.kind == "not_found":  # an integration removed meanwhile
            field = "integrations"
        return _new_page(
            request,
            who,
            pages,
            status=error.http_status,
            errors={field: str(error)},
            entered=entered,
        )
    return redirect_saying(
        f"/reviews/{created.id}",
        request,
        who,
        f"Started {created.name}: {created.items} accounts frozen for review.",
    )


@router.post("/reviews/owners")
def set_owner(
    request: Request,
    who: SignedInUser,
    pages: PagesDep,
    integration: FormText = "",
    user: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Name the SMP user who reviews an integration's accounts ("" = admins)."""
    check_csrf(who.csrf, csrf_token)
    require_admin(who)
    if not (integration.isascii() and integration.isdigit()):
        raise Refused(400, "Choose the integration from the list.")
    try:
        owner = reviews.set_review_owner(
            who.state.engine,
            integration,
            user or None,
            actor_of(who, request),
        )
    except refusals.Refused as error:
        if error.kind != "not_found" or not user:
            raise Refused(error.http_status, str(error).capitalize() + ".") from None
        return _new_page(
            request,
            who,
            pages,
            status=404,
            errors={f"owner-{integration}": str(error)},
        )
    names = reviews.integration_names(who.state.engine)
    said = f"{owner} reviews" if owner else "Admins review"
    return redirect_saying(
        "/reviews/new",
        request,
        who,
        f"{said} the accounts of {names.get(int(integration), integration)}.",
    )
