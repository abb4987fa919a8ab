"""One access review campaign: its page, each item's and bulk decisions,
sign-off and the evidence pack's download.

A reviewer (any non-admin user) sees and decides only the items assigned to
them: another's item is a 403 page, and a campaign holding none of theirs too.
Admins see and decide every item, sign off and export. A bulk decision over
the page's filters asks first, saying how many items it changes. The rules
and their refusals are the CLI's and the API's (smp.services.reviews);
docs/reviews.md has the cycle.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

from smp.model.enums import Role
from smp.model.people import Classification
from smp.model.reviews import (
    Campaign,
    CampaignStatus,
    Decision,
    ReviewRuleError,
    check_decision,
    check_open,
)
from smp.model.rules_reviews import remediation_steps
from smp.services import refusals, review_pages, reviews
from smp.services.input_rules import MAX_ID
from smp.services.review_evidence import export_pack
from smp.services.review_pages import NONE, UNDECIDED, ItemFilter
from smp.services.reviews import Actor
from smp.web.deps import PagesDep
from smp.web.flash import redirect_saying
from smp.web.forms import FormText, has_control, page_number
from smp.web.session import Refused, SignedIn, SignedInUser, check_csrf, require_admin

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
Text = Annotated[str, Query(max_length=256)]
DECISIONS = [d.value for d in Decision]
ROLES = [r.value for r in Role]
CLASSIFICATIONS = [c.value for c in Classification]


def actor_of(who: SignedIn, request: Request) -> Actor:
    source = request.client.host if request.client else "web"
    return Actor(who.user.name, who.user.is_admin, source)


def campaign_of(who: SignedIn, actor: Actor, campaign_id: int) -> Campaign:
    """The campaign, counted over what the actor sees; a reviewer with no
    item in it is refused (the page would show them nothing of theirs)."""
    try:
        return reviews.campaign_detail(who.state.engine, campaign_id, actor)
    except refusals.Refused as error:
        if error.kind == "forbidden":
            raise Refused(
                403, "No item of this review campaign is assigned to you."
            ) from None
        raise Refused(404, "There is no such review campaign.") from None


def is_overdue(campaign: Campaign, today: dt.date) -> bool:
    return (
        campaign.status is CampaignStatus.OPEN
        and campaign.due is not None
        and campaign.due < today
    )


def _page_number(page: str) -> int:
    return page_number(page)


def _filter_text(value: str, what: str, limit: int) -> str:
    cleaned = value.strip()
    if len(cleaned) > limit or has_control(cleaned):
        raise Refused(400, f"That {what} is not one SMP can filter on.")
    return cleaned


def item_filter(
    actor: Actor,
    integration: str,
    classification: str,
    decision: str,
    reviewer: str,
    department: str,
) -> ItemFilter:
    """The items table's filters from the page's address or a bulk form."""
    if integration and not (integration.isascii() and integration.isdigit()):
        raise Refused(400, "Choose the integration from the list.")
    chosen = int(integration) if integration else None
    if chosen is not None and not 0 < chosen <= MAX_ID:
        raise Refused(404, "There is no such integration.")
    if classification and classification not in CLASSIFICATIONS:
        raise Refused(400, "That classification does not exist.")
    if decision and decision not in (*DECISIONS, UNDECIDED):
        raise Refused(400, "That decision does not exist.")
    return ItemFilter(
        chosen,
        classification,
        decision,
        # A reviewer's items are all their own: the filter is an admin's.
        _filter_text(reviewer, "reviewer", 64) if actor.is_admin else "",
        _filter_text(department, "department", 200),
    )


@dataclass(frozen=True, slots=True)
class ItemsQuery:
    """The campaign page's address: its filters and pages."""

    campaign_id: int
    filter: ItemFilter
    page: int = 1
    # The remediation checklist's page.
    cpage: int = 1

    def fields(self) -> dict[str, str]:
        f = self.filter
        return {
            "integration": "" if f.integration is None else str(f.integration),
            "classification": f.classification,
            "decision": f.decision,
            "reviewer": f.reviewer,
            "department": f.department,
        }

    def url(self, **changed: object) -> str:
        values: dict[str, object] = {**self.fields(), "page": 1, "cpage": 1}
        values.update(changed)
        shown = {k: v for k, v in values.items() if v not in ("", 1)}
        query = urlencode(shown)
        return f"/reviews/{self.campaign_id}" + (f"?{query}" if query else "")


def _local_next(campaign_id: int, given: str) -> str:
    """Back to the campaign page the form was on (never another site)."""
    home = f"/reviews/{campaign_id}"
    if given == home or given.startswith((f"{home}?", f"{home}/items/")):
        return given
    return home


def render_campaign(
    request: Request,
    who: SignedIn,
    pages: PagesDep,
    query: ItemsQuery,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    entered: dict[str, str] | None = None,
) -> Response:
    engine, actor = who.state.engine, actor_of(who, request)
    campaign = campaign_of(who, actor, query.campaign_id)
    try:
        total, decided = review_pages.count_items(
            engine, campaign.id, actor, query.filter
        )
        items = review_pages.page_items(
            engine,
            campaign.id,
            actor,
            query.filter,
            limit=PAGE_SIZE,
            offset=(query.page - 1) * PAGE_SIZE,
        )
        to_change, checklist = review_pages.remediation_items(
            engine,
            campaign.id,
            actor,
            limit=PAGE_SIZE,
            offset=(query.cpage - 1) * PAGE_SIZE,
        )
    except refusals.Refused as error:
        raise Refused(error.http_status, str(error).capitalize() + ".") from None
    names = reviews.integration_names(engine)
    return pages.render(
        request,
        "review.html",
        who,
        status=status,
        campaign=campaign,
        overdue=is_overdue(campaign, who.state.context.now().date()),
        names=names,
        summary=review_pages.summary(engine, campaign.id, actor),
        choices=review_pages.filter_choices(engine, campaign.id, actor),
        query=query,
        items=items,
        total=total,
        decided_in_filter=decided,
        pages=max(1, -(-total // PAGE_SIZE)),
        to_change=to_change,
        checklist=[(i, remediation_steps(i)) for i in checklist],
        cpages=max(1, -(-to_change // PAGE_SIZE)),
        decisions=DECISIONS,
        roles=ROLES,
        classifications=CLASSIFICATIONS,
        none=NONE,
        undecided=UNDECIDED,
        errors=errors or {},
        entered=entered or {},
        is_open=campaign.status is CampaignStatus.OPEN,
    )


@router.get("/reviews/{campaign_id:int}")
def campaign_page(
    campaign_id: int,
    request: Request,
    who: SignedInUser,
    pages: PagesDep,
    integration: Text = "",
    classification: Text = "",
    decision: Text = "",
    reviewer: Text = "",
    department: Text = "",
    page: Text = "1",
    cpage: Text = "1",
) -> Response:
    actor = actor_of(who, request)
    chosen = item_filter(
        actor, integration, classification, decision, reviewer, department
    )
    query = ItemsQuery(campaign_id, chosen, _page_number(page), _page_number(cpage))
    return render_campaign(request, who, pages, query)


# --- one item -----------------------------------------------------------------


def _item_page(
    request: Request,
    who: SignedIn,
    pages: PagesDep,
    campaign_id: int,
    item_id: int,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    entered: dict[str, str] | None = None,
    back: str = "",
) -> Response:
    actor = actor_of(who, request)
    campaign = campaign_of(who, actor, campaign_id)
    try:
        found = review_pages.item(who.state.engine, campaign_id, item_id, actor)
    except refusals.Refused as error:
        if error.kind == "forbidden":
            raise Refused(403, "This item is assigned to another reviewer.") from None
        raise Refused(404, "This review campaign has no such item.") from None
    return pages.render(
        request,
        "review_item.html",
        who,
        status=status,
        campaign=campaign,
        item=found,
        steps=remediation_steps(found),
        names=reviews.integration_names(who.state.engine),
        decisions=DECISIONS,
        roles=ROLES,
        errors=errors or {},
        entered=entered or {},
        is_open=campaign.status is CampaignStatus.OPEN,
        back=_local_next(campaign_id, back),
    )


@router.get("/reviews/{campaign_id:int}/items/{item_id:int}")
def item_page(
    campaign_id: int,
    item_id: int,
    request: Request,
    who: SignedInUser,
    pages: PagesDep,
    back: Text = "",
) -> Response:
    return _item_page(request, who, pages, campaign_id, item_id, back=back)


def _decision_field(error: ReviewRuleError | refusals.Refused) -> str:
    field = getattr(error, "field", None)
    if field in ("role", "reason", "decision"):
        return str(field)
    message = str(error)
    if message.startswith("unknown decision"):
        return "decision"
    return "role" if "role" in message else "reason"


@router.post("/reviews/{campaign_id:int}/items/{item_id:int}/decide")
def decide_item(
    campaign_id: int,
    item_id: int,
    request: Request,
    who: SignedInUser,
    pages: PagesDep,
    decision: FormText = "",
    role: FormText = "",
    reason: FormText = "",
    back: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    check_csrf(who.csrf, csrf_token)
    actor = actor_of(who, request)
    entered = {"decision": decision, "role": role, "reason": reason}
    try:
        reviews.decide(
            who.state.engine,
            campaign_id,
            actor,
            decision,
            item_ids=[item_id],
            # The role select always sends a value; only modify takes it.
            new_role=role if decision == Decision.MODIFY.value else None,
            reason=reason,
            now=who.state.context.now(),
        )
    except refusals.Refused as error:
        if error.kind == "forbidden":
            raise Refused(403, "This item is assigned to another reviewer.") from None
        if error.kind == "not_found":
            raise Refused(404, "This review campaign has no such item.") from None
        field = "decide" if error.kind == "conflict" else _decision_field(error)
        return _item_page(
            request,
            who,
            pages,
            campaign_id,
            item_id,
            status=error.http_status,
            errors={field: str(error)},
            entered=entered,
            back=back,
        )
    return redirect_saying(
        _local_next(campaign_id, back),
        request,
        who,
        f"Item {item_id}: {decision}"
        + (f" as {role}" if decision == "modify" else "")
        + ".",
    )


# --- bulk decisions -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BulkForm:
    """A bulk decision as posted: the decision, and the campaign page's
    filters it goes to (hidden fields; `f_decision` filters on decisions)."""

    actor: Actor
    query: ItemsQuery
    decision: str
    # Only a modify decision takes the role select's value.
    role: str
    reason: str
    # Also replace decisions made already (the confirmation's checkbox).
    override: bool = False

    @property
    def entered(self) -> dict[str, str]:
        return {"decision": self.decision, "role": self.role, "reason": self.reason}


def bulk_form(
    campaign_id: int,
    request: Request,
    who: SignedInUser,
    decision: FormText = "",
    role: FormText = "",
    reason: FormText = "",
    integration: FormText = "",
    classification: FormText = "",
    f_decision: FormText = "",
    reviewer: FormText = "",
    department: FormText = "",
    override: FormText = "",
    csrf_token: FormText = "",
) -> BulkForm:
    check_csrf(who.csrf, csrf_token)
    actor = actor_of(who, request)
    chosen = item_filter(
        actor, integration, classification, f_decision, reviewer, department
    )
    modify = decision == Decision.MODIFY.value
    return BulkForm(
        actor,
        ItemsQuery(campaign_id, chosen),
        decision,
        role if modify else "",
        reason,
        override == "yes",
    )


BulkDep = Annotated[BulkForm, Depends(bulk_form)]


@router.post("/reviews/{campaign_id:int}/bulk")
def bulk_ask(
    campaign_id: int,
    request: Request,
    who: SignedInUser,
    pages: PagesDep,
    form: BulkDep,
) -> Response:
    """Step one: check the decision, count the items, ask to confirm."""
    campaign = campaign_of(who, form.actor, campaign_id)

    def refused(field: str, message: str, status: int) -> Response:
        return render_campaign(
            request,
            who,
            pages,
            form.query,
            status=status,
            errors={f"bulk_{field}": message},
            entered=form.entered,
        )

    try:
        check_open(campaign.status, campaign.name)
    except ReviewRuleError as error:
        return refused("decision", str(error), 409)
    try:
        check_decision(form.decision, new_role=form.role or None, reason=form.reason)
        total, decided = review_pages.count_items(
            who.state.engine, campaign_id, form.actor, form.query.filter
        )
        expression = form.query.filter.expression()
    except ReviewRuleError as error:
        return refused(_decision_field(error), str(error), 422)
    except refusals.Refused as error:
        return refused("decision", str(error), error.http_status)
    if not total:
        return refused(
            "decision", "no item matches these filters: nothing to decide", 422
        )
    return pages.render(
        request,
        "review_bulk.html",
        who,
        campaign=campaign,
        query=form.query,
        total=total,
        decided=decided,
        decision=form.decision,
        role=form.role,
        reason=form.reason.strip(),
        expression=expression,
    )


def _count(text: str) -> int:
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else 0


@router.post("/reviews/{campaign_id:int}/bulk/confirm")
def bulk_confirm(
    campaign_id: int,
    request: Request,
    who: SignedInUser,
    pages: PagesDep,
    form: BulkDep,
    expected: FormText = "",
    expected_decided: FormText = "",
) -> Response:
    """Step two: decide every undecided item the filter selects (with the
    override box ticked, the decided ones too), in one transaction."""
    query = form.query
    try:
        done = reviews.decide(
            who.state.engine,
            campaign_id,
            form.actor,
            form.decision,
            expression=query.filter.expression(),
            new_role=form.role or None,
            reason=form.reason,
            override=form.override,
            now=who.state.context.now(),
        )
    except refusals.Refused as error:
        if error.kind == "not_found" and error.field is None:
            raise Refused(404, "There is no such review campaign.") from None
        return render_campaign(
            request,
            who,
            pages,
            query,
            status=error.http_status,
            errors={f"bulk_{_decision_field(error)}": str(error)},
            entered=form.entered,
        )
    changed, already = done.changed, done.already_decided
    said = f"Decided {changed} item{'s' if changed != 1 else ''}: {form.decision}"
    said += f" as {form.role}." if form.role else "."
    if already and form.override:
        said += f" {already} of them had a decision before: replaced."
    elif already:
        said += f" {already} decided already: left as they were."
    wanted = _count(expected)
    if form.override:
        wanted += _count(expected_decided)
    if expected.isdigit() and wanted != changed:
        said += f" The confirmation said {wanted}: items changed meanwhile."
    return redirect_saying(query.url(), request, who, said)


# --- sign-off and the evidence pack --------------------------------------------


@router.post("/reviews/{campaign_id:int}/signoff")
def sign_off(
    campaign_id: int,
    request: Request,
    who: SignedInUser,
    pages: PagesDep,
    csrf_token: FormText = "",
) -> Response:
    check_csrf(who.csrf, csrf_token)
    require_admin(who)
    query = ItemsQuery(campaign_id, ItemFilter())
    try:
        closed = reviews.sign_off(
            who.state.engine,
            campaign_id,
            actor_of(who, request),
            now=who.state.context.now(),
        )
    except refusals.Refused as error:
        if error.kind == "not_found":
            raise Refused(404, "There is no such review campaign.") from None
        return render_campaign(
            request,
            who,
            pages,
            query,
            status=error.http_status,
            errors={"signoff": str(error)},
        )
    return redirect_saying(
        query.url(), request, who, f"Signed off {closed.name}: the campaign is closed."
    )


def _zipped(directory: Path, archive: Path) -> None:
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for path in sorted(directory.iterdir()):
            out.write(path, arcname=f"{directory.name}/{path.name}")


@router.post("/reviews/{campaign_id:int}/export")
def export(
    campaign_id: int,
    request: Request,
    who: SignedInUser,
    csrf_token: FormText = "",
) -> Response:
    """The evidence pack as a zip: written into a temporary directory by the
    same export as `smp reviews export`, zipped there, removed once sent."""
    check_csrf(who.csrf, csrf_token)
    require_admin(who)
    work = Path(tempfile.mkdtemp(prefix="smp-review-pack-"))
    try:
        done = export_pack(
            who.state.engine,
            campaign_id,
            work / f"review-{campaign_id}",
            actor_of(who, request),
            now=who.state.context.now(),
        )
        name = f"review-{done.campaign_id}{'-draft' if done.draft else ''}"
        archive = work / f"{name}.zip"
        _zipped(done.directory, archive)
    except refusals.Refused as error:
        shutil.rmtree(work, ignore_errors=True)
        raise Refused(error.http_status, str(error).capitalize() + ".") from None
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return FileResponse(
        archive,
        media_type="application/zip",
        filename=archive.name,
        headers={"Cache-Control": "no-store"},
        background=BackgroundTask(shutil.rmtree, work, ignore_errors=True),
    )
