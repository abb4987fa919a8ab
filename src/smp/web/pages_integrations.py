"""Integrations list and the SendGrid "Integrate" form (settings: pages_settings)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from smp.api.routes.integrations import create_connected
from smp.api.schemas import MAX_ID
from smp.model import Integration
from smp.sendgrid.keys import contains_key
from smp.storage import (
    DuplicateNameError,
    RecordNotFoundError,
    StorageError,
    get_integration,
    list_integrations,
    list_service_accounts,
    list_sync_runs,
    read_session,
)
from smp.sync import Hints, KeyRefused, NewKey, Slot
from smp.web.deps import PagesDep
from smp.web.forms import FormText, clean_key, clean_text
from smp.web.session import Refused, SignedIn, SignedInUser, check_csrf, require_admin

router = APIRouter(include_in_schema=False)

ACCESS, BILLING = "Access token", "Access token with billing permissions"
CONFIRM = "The billing key belongs to this SendGrid account"
WEB_HINTS = Hints(
    add_keys="add keys to it in its Service settings",
    confirm=f"tick “{CONFIRM}”",
)
FIELDS = {Slot.ACCESS: "access_token", Slot.BILLING: "billing_token"}
REGIONS = {"global": "Global (api.sendgrid.com)", "eu": "EU (api.eu.sendgrid.com)"}


def find(who: SignedIn, integration_id: int) -> Integration:
    if not 1 <= integration_id <= MAX_ID:
        raise Refused(404, "There is no such integration.")
    with read_session(who.state.engine) as session:
        try:
            return get_integration(session, integration_id)
        except RecordNotFoundError:
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
        syncs=who.state.syncs,
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
        try:
            out, checked = await create_connected(
                who.state,
                shown_name,
                region,
                keys,
                None,
                confirmed_by(who, billing_account_confirmed),
            )
        except KeyRefused as error:
            field = FIELDS[error.slot] if error.slot else "form"
            errors[field] = error.told(WEB_HINTS)
        except DuplicateNameError as error:
            errors["name"] = str(error)
        except StorageError as error:
            errors["form"] = str(error)
        else:
            return pages.render(
                request, "integrate_done.html", who, integration=out, checked=checked
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
