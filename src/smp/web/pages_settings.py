"""An integration's Service settings: keys, sync, schedule, rename and delete."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from smp.model import Integration
from smp.services import audit, onboarding, refusals
from smp.services import integrations as integration_cases
from smp.services.onboarding import NewKey, StoredKey, add_key
from smp.storage import (
    list_service_accounts,
    list_sync_runs,
    read_session,
)
from smp.web.deps import PagesDep
from smp.web.flash import redirect_saying
from smp.web.forms import FormText, bounded_int, clean_key, clean_text
from smp.web.pages_integrations import WEB_HINTS, confirmed_by, find
from smp.web.session import Refused, SignedIn, SignedInUser, check_csrf, require_admin

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True, slots=True)
class Change:
    """An admin's form post about one integration, its CSRF token checked."""

    who: SignedIn
    integration: Integration


def _change(
    integration_id: int, who: SignedInUser, csrf_token: FormText = ""
) -> Change:
    check_csrf(who.csrf, csrf_token)
    require_admin(who)
    return Change(who, find(who, integration_id))


AdminChange = Annotated[Change, Depends(_change)]


def settings_page(
    request: Request,
    who: SignedIn,
    pages: PagesDep,
    integration: Integration,
    *,
    status: int = 200,
    added: StoredKey | None = None,
    error: str | None = None,
) -> Response:
    with read_session(who.state.engine) as session:
        keys = list_service_accounts(session, integration.id, include_removed=True)
        runs = list_sync_runs(session, integration.id, limit=10)
    return pages.render(
        request,
        "settings.html",
        who,
        status=status,
        integration=integration,
        keys=keys,
        runs=runs,
        syncing=who.state.syncs.running(integration.id),
        default_interval=who.state.config.default_sync_interval_s,
        added=added,
        error=error,
    )


@router.get("/integrations/{integration_id}/settings")
def settings(
    integration_id: int, request: Request, who: SignedInUser, pages: PagesDep
) -> Response:
    return settings_page(request, who, pages, find(who, integration_id))


@router.post("/integrations/{integration_id}/service-accounts")
async def add_service_account(
    request: Request,
    change: AdminChange,
    pages: PagesDep,
    label: FormText = "",
    key: FormText = "",
    billing_account_confirmed: FormText = "",
) -> Response:
    who, integration = change.who, change.integration
    added = error = None
    status = 422
    try:
        added = await add_key(
            who.state.engine,
            who.state.box,
            integration.id,
            NewKey(
                clean_text(label, "Label", max_length=100),
                clean_key(key, "API key", required=True),
            ),
            who.state.context,
            billing_confirmed_by=confirmed_by(who, billing_account_confirmed),
            audit_as=audit.request_actor(who.user.name, request),
        )
    except ValueError as problem:
        error = str(problem)
    except refusals.Refused as problem:
        error, status = problem.told(WEB_HINTS), problem.http_status
    return settings_page(
        request,
        who,
        pages,
        find(who, integration.id),  # a billing key's confirmation, if any
        status=201 if added else status,
        added=added,
        error=error,
    )


def settings_url(integration: Integration) -> str:
    return f"/integrations/{integration.id}/settings"


@router.post("/integrations/{integration_id}/service-accounts/{sa_id}/remove")
def remove_key(
    sa_id: int,
    request: Request,
    change: AdminChange,
) -> Response:
    who, integration = change.who, change.integration
    try:
        key = onboarding.remove_key(
            who.state.engine,
            sa_id,
            integration_id=integration.id,
            audit_as=audit.request_actor(who.user.name, request),
        )
    except refusals.Refused:
        raise Refused(404, "There is no such service account.") from None
    return redirect_saying(
        settings_url(integration),
        request,
        who,
        f"Removed key ‘{key.label}’ ({key.display_key}). "
        "It no longer syncs; what it collected is kept.",
    )


@router.post("/integrations/{integration_id}/rename")
def rename(
    request: Request,
    change: AdminChange,
    pages: PagesDep,
    name: FormText = "",
) -> Response:
    who, integration = change.who, change.integration
    try:
        renamed = integration_cases.rename(
            who.state.engine,
            integration.id,
            clean_text(name, "The new name"),
            audit_as=audit.request_actor(who.user.name, request),
        )
    except (ValueError, refusals.Refused) as error:  # a taken name included
        return settings_page(
            request, who, pages, integration, status=422, error=str(error)
        )
    return redirect_saying(
        settings_url(renamed),
        request,
        who,
        f"Renamed ‘{integration.name}’ to ‘{renamed.name}’.",
    )


def _what_goes(who: SignedIn, integration: Integration) -> str:
    return integration_cases.footprint(who.state.engine, integration.id)


@router.get("/integrations/{integration_id}/delete")
def delete_form(
    integration_id: int, request: Request, who: SignedInUser, pages: PagesDep
) -> Response:
    require_admin(who)
    integration = find(who, integration_id)
    return pages.render(
        request,
        "delete_integration.html",
        who,
        integration=integration,
        what=_what_goes(who, integration),
        syncing=who.state.syncs.running(integration.id),
    )


@router.post("/integrations/{integration_id}/delete")
def delete(
    request: Request,
    change: AdminChange,
) -> Response:
    who, integration = change.who, change.integration
    if who.state.syncs.running(integration.id):
        raise Refused(
            409, "A sync of this integration is running; delete it when it ends."
        )
    what = _what_goes(who, integration)
    integration_cases.delete(
        who.state.engine,
        integration.id,
        audit_as=audit.request_actor(who.user.name, request),
    )
    return redirect_saying(
        "/integrations",
        request,
        who,
        f"Deleted integration ‘{integration.name}’ and its {what}.",
    )


@router.post("/integrations/{integration_id}/sync")
async def sync_now(
    request: Request,
    change: AdminChange,
) -> Response:
    who, integration = change.who, change.integration
    by = audit.request_actor(who.user.name, request)
    who.state.syncs.start(integration.id, "web", started_by=by.name, source=by.source)
    return redirect_saying(
        f"/integrations/{integration.id}",
        request,
        who,
        f"Sync of ‘{integration.name}’ started.",
    )


@router.post("/integrations/{integration_id}/interval")
def interval(
    request: Request,
    change: AdminChange,
    hours: FormText = "",
) -> Response:
    who, integration = change.who, change.integration
    seconds = bounded_int(hours, "The interval in hours", 1, 720) * 3600
    by = audit.request_actor(who.user.name, request)
    integration_cases.set_interval(
        who.state.engine, integration.id, seconds, audit_as=by
    )
    every = seconds // 3600
    return redirect_saying(
        settings_url(integration),
        request,
        who,
        f"Saved: ‘{integration.name}’ syncs every {every} hour{'s' * (every != 1)}.",
    )
