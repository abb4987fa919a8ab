"""Users page: admins add, remove and change SMP users; everyone else is refused."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from smp.model.users import UserRole, name_key
from smp.services import audit, refusals, user_admin
from smp.storage import read_session
from smp.storage.users import list_users
from smp.web.deps import PagesDep
from smp.web.flash import redirect_saying
from smp.web.forms import FormText, has_control
from smp.web.session import Refused, SignedInUser, check_csrf, require_admin

router = APIRouter(include_in_schema=False)


def _page(
    request: Request,
    who: SignedInUser,
    pages: PagesDep,
    status: int = 200,
    error: str | None = None,
    **shown: object,
) -> Response:
    with read_session(who.state.engine) as session:
        users = list_users(session)
    return pages.render(
        request, "users.html", who, status=status, users=users, error=error, **shown
    )


@router.get("/users")
def users(request: Request, who: SignedInUser, pages: PagesDep) -> Response:
    require_admin(who)
    return _page(request, who, pages)


@router.post("/users")
def add_user(
    request: Request,
    who: SignedInUser,
    pages: PagesDep,
    name: FormText = "",
    password: FormText = "",
    role: FormText = "viewer",
    csrf_token: FormText = "",
) -> Response:
    check_csrf(who.csrf, csrf_token)
    require_admin(who)
    if role not in ("admin", "viewer"):
        raise Refused(422, "A role is admin or viewer.")
    try:
        added = user_admin.add_user(
            who.state.engine,
            name,
            password,
            UserRole(role),
            audit_as=audit.request_actor(who.user.name, request),
        )
    except refusals.Refused as error:
        return _page(request, who, pages, status=422, error=str(error))
    return redirect_saying(
        "/users",
        request,
        who,
        f"Added {added.role.value} ‘{added.name}’.",
    )


@router.post("/users/{name}/remove")
def remove_user(
    name: str,
    request: Request,
    who: SignedInUser,
    pages: PagesDep,
    csrf_token: FormText = "",
) -> Response:
    check_csrf(who.csrf, csrf_token)
    require_admin(who)
    try:
        user_admin.remove_user(
            who.state.engine,
            _known_name(name),
            by=who.user.name,
            audit_as=audit.request_actor(who.user.name, request),
        )
    except refusals.Refused as error:
        return _refused(request, who, pages, error)
    return redirect_saying(
        "/users",
        request,
        who,
        f"Removed user ‘{name}’; their sessions and API tokens have ended.",
    )


def _known_name(name: str) -> str:
    if has_control(name):
        raise Refused(404, "There is no such user.")
    return name[:64]


def _refused(
    request: Request, who: SignedInUser, pages: PagesDep, error: refusals.Refused
) -> Response:
    """An unknown user is an error page; the last admin is told on the page."""
    if error.kind == "not_found":
        raise Refused(404, "There is no such user.") from None
    return _page(request, who, pages, status=error.http_status, error=str(error))


@router.post("/users/{name}/role")
def change_role(
    name: str,
    request: Request,
    who: SignedInUser,
    pages: PagesDep,
    role: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    check_csrf(who.csrf, csrf_token)
    require_admin(who)
    if role not in ("admin", "viewer"):
        raise Refused(422, "A role is admin or viewer.")
    try:
        user_admin.change_role(
            who.state.engine,
            _known_name(name),
            UserRole(role),
            audit_as=audit.request_actor(who.user.name, request),
        )
    except refusals.Refused as error:
        return _refused(request, who, pages, error)
    # Someone who gave up their own admin role can no longer see /users.
    own = name_key(name) == name_key(who.user.name)
    where = "/integrations" if own and role != "admin" else "/users"
    return redirect_saying(where, request, who, f"‘{name}’ is now {role}.")


@router.post("/users/{name}/password")
def reset_password(
    name: str,
    request: Request,
    who: SignedInUser,
    pages: PagesDep,
    csrf_token: FormText = "",
) -> Response:
    """Answers with the page itself: the generated password is in this answer only."""
    check_csrf(who.csrf, csrf_token)
    require_admin(who)
    try:
        password = user_admin.reset_password(
            who.state.engine,
            _known_name(name),
            audit_as=audit.request_actor(who.user.name, request),
        )
    except refusals.Refused as error:
        return _refused(request, who, pages, error)
    return _page(request, who, pages, reset_name=name, reset_password=password)
