"""Account page: everyone sets their time zone and manages their own API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from smp.services import audit, refusals, user_admin
from smp.services.users import time_zones
from smp.storage import read_session
from smp.storage.users import list_api_tokens
from smp.web.deps import PagesDep
from smp.web.forms import FormText, clean_text
from smp.web.session import Refused, SignedInUser, check_csrf

router = APIRouter(include_in_schema=False)


def _page(
    request: Request,
    who: SignedInUser,
    pages: PagesDep,
    status: int = 200,
    **shown: object,
) -> Response:
    with read_session(who.state.engine) as session:
        tokens = list_api_tokens(session, who.user.name)
    return pages.render(
        request,
        "account.html",
        who,
        status=status,
        tokens=tokens,
        zones=sorted(time_zones()),
        **shown,
    )


@router.get("/account")
def account(request: Request, who: SignedInUser, pages: PagesDep) -> Response:
    return _page(request, who, pages)


@router.post("/account/time-zone")
def change_time_zone(
    request: Request,
    who: SignedInUser,
    pages: PagesDep,
    time_zone: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    check_csrf(who.csrf, csrf_token)
    try:
        by = audit.request_actor(who.user.name, request)
        user_admin.change_time_zone(
            who.state.engine, who.user.name, time_zone[:64], audit_as=by
        )
    except refusals.Refused as error:
        return _page(request, who, pages, status=422, error=f"{error}.")
    return RedirectResponse("/account", status_code=303)


@router.post("/account/tokens")
def add_token(
    request: Request,
    who: SignedInUser,
    pages: PagesDep,
    label: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Answers with the page itself: the new token is in this answer only."""
    check_csrf(who.csrf, csrf_token)
    try:
        cleaned = clean_text(label, "A label", max_length=100)
    except ValueError as error:
        return _page(request, who, pages, status=422, error=str(error))
    record, raw = user_admin.new_token(
        who.state.engine,
        who.user.name,
        cleaned,
        audit_as=audit.request_actor(who.user.name, request),
    )
    return _page(request, who, pages, status=201, new_token=raw, new_id=record.id)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(
    token_id: int,
    request: Request,
    who: SignedInUser,
    csrf_token: FormText = "",
) -> Response:
    check_csrf(who.csrf, csrf_token)
    try:
        user_admin.revoke_token(
            who.state.engine,
            who.user.name,
            token_id,
            audit_as=audit.request_actor(who.user.name, request),
        )
    except refusals.Refused:
        raise Refused(404, "You have no such token.") from None
    return RedirectResponse("/account", status_code=303)
