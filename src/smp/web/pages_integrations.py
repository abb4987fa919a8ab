"""Integrations list and the SendGrid "Integrate" form (settings: pages_settings)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from smp.model import Integration
from smp.sendgrid.keys import contains_key
from smp.services import audit, refusals
from smp.services import integrations as integration_cases
from smp.services.key_rules import Slot
from smp.services.onboarding import NewKey, connect
from smp.services.refusals import Hints
from smp.storage import (
    list_integrations,
    list_service_accounts,
    list_sync_runs,
    read_session,
)
from smp.web.deps import PagesDep
from smp.web.forms import FormText, clean_key, clean_text
from smp.web.pages_findings import posture_cards
from smp.web.pages_people import home_card
from smp.web.session import Refused, SignedIn, SignedInUser, check_csrf, require_admin

router = APIRouter(include_in_schema=False)

ACCESS, BILLING = "Access token", "Access token with billing permissions"
CONFIRM = "The billing key belongs to this SendGrid account"
WEB_HINTS = Hints(
    add_keys="add keys to it in its Service settings",
    confirm=f"tick “{CONFIRM}”",
)
# The form field beside which a refusal about a slot or the name is told.
FIELDS = {Slot.ACCESS: "access_token", Slot.BILLING: "billing_token", "name": "name"}
REGIONS = {"global": "Global (api.sendgrid.com)", "eu": "EU (api.eu.sendgrid.com)"}


def find(who: SignedIn, integration_id: int) -> Integration:
    try:
        return integration_cases.find(who.state.engine, integration_id)
    except refusals.Refused:
        raise Refused(404, "There is no such integration.") from None


@router.get("/")
def home() -> Response:
    return RedirectResponse("/integrations", status_code=303)


@router.get("/integrations")
def integrations(request: Request, who: SignedInUser, pages: PagesDep) -> Response:
    with read_session(who.state.engine) as session:
        cards = [
            (i, list_service_accounts(session, i.id))
            for i in list_integrations(session)
        ]
        # Asked before the runs are read: a sync that ends in between then
        # shows as its new run, never as "syncing" beside the old outcome.
        syncing = {i.id for i, _ in cards if who.state.syncs.running(i.id)}
        # Each card says how its last sync went, not only when it was.
        last_runs = {
            i.id: next(iter(list_sync_runs(session, i.id, limit=1)), None)
            for i, _ in cards
        }
    return pages.render(
        request,
        "integrations.html",
        who,
        cards=cards,
        last_runs=last_runs,
        syncing=syncing,
        posture=posture_cards(who, [i.id for i, _ in cards]),
        **home_card(who),
    )


@router.get("/integrations/sendgrid/new")
def integrate_form(request: Request, who: SignedInUser, pages: PagesDep) -> Response:
    require_admin(who)
    return pages.render(
        request,
        "integrate.html",
        who,
        name="SendGrid",
        errors={},
        confirmed=False,
        regions=REGIONS,
        region="global",
    )


def confirmed_by(who: SignedIn, ticked: str) -> str | None:
    """Who vouched for a billing key's account: the signed-in user, if ticked."""
    return f"{who.user.name} (web)" if ticked else None


@router.post("/integrations/sendgrid")
async def integrate(
    request: Request,
    who: SignedInUser,
    pages: PagesDep,
    name: FormText = "",
    access_token: FormText = "",
    billing_token: FormText = "",
    billing_account_confirmed: FormText = "",
    region: FormText = "global",
    csrf_token: FormText = "",
) -> Response:
    check_csrf(who.csrf, csrf_token)
    require_admin(who)
    errors: dict[str, str] = {}
    if region not in REGIONS:
        errors["region"] = "Choose the region: Global or EU."
        region = "global"
    keys: list[NewKey] = []
    for slot, label, raw in (
        (Slot.ACCESS, ACCESS, access_token),
        (Slot.BILLING, BILLING, billing_token),
    ):
        try:
            cleaned = clean_key(raw, label, required=slot is Slot.ACCESS)
        except ValueError as error:
            errors[FIELDS[slot]] = str(error)
            continue
        if cleaned:
            keys.append(NewKey(label, cleaned, slot))
    try:
        shown_name = clean_text(name, "Name")
    except ValueError as error:
        errors["name"] = str(error)
        shown_name = ""
    if not errors:
        state = who.state
        try:
            integration, stored = await connect(
                state.engine,
                state.box,
                shown_name,
                keys,
                state.context,
                region=region,
                base_url=state.config.sendgrid_base_url,
                billing_confirmed_by=confirmed_by(who, billing_account_confirmed),
                audit_as=audit.request_actor(who.user.name, request),
            )
        except refusals.Refused as error:
            errors[FIELDS.get(error.field or "", "form")] = error.told(WEB_HINTS)
        else:
            if stored:
                by = audit.request_actor(who.user.name, request)
                state.syncs.start(
                    integration.id, "connect", started_by=by.name, source=by.source
                )
            return pages.render(
                request,
                "integrate_done.html",
                who,
                integration=integration,
                checked=stored,
            )
    return pages.render(
        request,
        "integrate.html",
        who,
        status=422,
        # Never echo a key that was pasted into the name.
        name=shown_name or ("" if contains_key(name) else name[:200]),
        errors=errors,
        confirmed=bool(billing_account_confirmed),
        regions=REGIONS,
        region=region,
    )
