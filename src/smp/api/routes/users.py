"""`/users`: SMP's own users. Admins manage them; everyone manages their own tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from smp.api.acting import Acting
from smp.api.auth import AdminUser, CurrentUser, State
from smp.api.params import Limit, Offset
from smp.api.problems import ApiProblem, problem_responses
from smp.api.refusals import problem
from smp.api.schemas import (
    Id,
    Page,
    PasswordReset,
    RoleChange,
    SettingsChange,
    TokenCreate,
    TokenInfo,
    TokenOut,
    UserCreate,
    UserOut,
)
from smp.model.users import ApiToken, User, UserRole
from smp.services import user_admin
from smp.services.audit import Actor
from smp.services.input_rules import PRINTABLE
from smp.services.refusals import Refused
from smp.storage import read_session
from smp.storage.users import list_api_tokens, list_users

router = APIRouter(tags=["users"], responses=problem_responses(403))

# Names hold spaces and any script ("Zoë Ångström"); an unknown one is a 404.
UserName = Annotated[str, Path(min_length=1, max_length=64, pattern=PRINTABLE)]


def user_out(user: User) -> UserOut:
    return UserOut(
        name=user.name,
        role=user.role.value,
        created_at=user.created_at,
        time_zone=user.time_zone,
    )


def token_info(token: ApiToken) -> TokenInfo:
    return TokenInfo(
        id=token.id,
        label=token.label,
        created_at=token.created_at,
        last_used_at=token.last_used_at,
    )


def _new_token(state: State, name: str, label: str, by: Actor) -> TokenOut:
    try:
        record, raw = user_admin.new_token(state.engine, name, label, audit_as=by)
    except Refused as error:
        raise problem(error) from None
    return TokenOut(token=raw, label=record.label, id=record.id)


@router.get("/users/me", response_model=UserOut, summary="Show the signed-in user")
def me(user: CurrentUser) -> UserOut:
    return user_out(user)


@router.patch(
    "/users/me", response_model=UserOut, summary="Change your display time zone"
)
def change_settings(
    body: SettingsChange, state: State, user: CurrentUser, by: Acting
) -> UserOut:
    """Times in the web UI are shown in this zone; the API always answers in UTC."""
    try:
        changed = user_admin.change_time_zone(
            state.engine, user.name, body.time_zone, audit_as=by
        )
    except Refused as error:
        raise problem(error) from None
    return user_out(changed)


@router.get(
    "/users/me/tokens", response_model=list[TokenInfo], summary="List your API tokens"
)
def my_tokens(state: State, user: CurrentUser) -> list[TokenInfo]:
    """Ids and labels only: a token is shown once, when it is created."""
    with read_session(state.engine) as session:
        return [token_info(t) for t in list_api_tokens(session, user.name)]


@router.post(
    "/users/me/tokens",
    status_code=201,
    response_model=TokenOut,
    summary="Create an API token for yourself",
)
def add_my_token(
    body: TokenCreate, state: State, user: CurrentUser, by: Acting
) -> TokenOut:
    """The token is in this answer only; SMP keeps just its hash."""
    return _new_token(state, user.name, body.label, by)


@router.delete(
    "/users/me/tokens/{token_id}",
    status_code=204,
    response_class=Response,
    responses=problem_responses(404),
    summary="Revoke one of your API tokens",
)
def revoke_my_token(
    token_id: Annotated[Id, Path()], state: State, user: CurrentUser, by: Acting
) -> Response:
    try:
        user_admin.revoke_token(state.engine, user.name, token_id, audit_as=by)
    except Refused:
        raise ApiProblem(404, f"you have no token {token_id}") from None
    return Response(status_code=204)


@router.get("/users", response_model=Page[UserOut], summary="List SMP users")
def users(
    state: State, _user: AdminUser, limit: Limit = 50, offset: Offset = 0
) -> Page[UserOut]:
    with read_session(state.engine) as session:
        found = list_users(session)
    items = [user_out(u) for u in found[offset : offset + limit]]
    return Page(items=items, total=len(found), limit=limit, offset=offset)


@router.post(
    "/users",
    status_code=201,
    response_model=UserOut,
    responses=problem_responses(409),
    summary="Add an SMP user",
)
def add(body: UserCreate, state: State, _user: AdminUser, by: Acting) -> UserOut:
    password = body.password.get_secret_value()
    try:
        created = user_admin.add_user(
            state.engine, body.name, password, UserRole(body.role), audit_as=by
        )
    except Refused as error:
        raise problem(error) from None
    return user_out(created)


@router.patch(
    "/users/{name}",
    response_model=UserOut,
    responses=problem_responses(404, 409),
    summary="Change a user's role",
)
def change_role(
    name: UserName, body: RoleChange, state: State, _user: AdminUser, by: Acting
) -> UserOut:
    """The last admin cannot be made a viewer."""
    try:
        changed = user_admin.change_role(
            state.engine, name, UserRole(body.role), audit_as=by
        )
    except Refused as error:
        raise problem(error) from None
    return user_out(changed)


@router.post(
    "/users/{name}/password",
    response_model=PasswordReset,
    responses=problem_responses(404),
    summary="Reset a user's password to a generated one",
)
def reset_password(
    name: UserName, state: State, _user: AdminUser, by: Acting
) -> PasswordReset:
    """The new password is in this answer only; the user's sessions and tokens end."""
    try:
        password = user_admin.reset_password(state.engine, name, audit_as=by)
    except Refused as error:
        raise problem(error) from None
    return PasswordReset(name=name, password=password)


@router.delete(
    "/users/{name}",
    status_code=204,
    response_class=Response,
    responses=problem_responses(404, 409),
    summary="Remove a user with their tokens and sessions",
)
def remove(name: UserName, state: State, user: AdminUser, by: Acting) -> Response:
    try:
        user_admin.remove_user(state.engine, name, by=user.name, audit_as=by)
    except Refused as error:
        raise problem(error) from None
    return Response(status_code=204)


@router.post(
    "/users/{name}/tokens",
    status_code=201,
    response_model=TokenOut,
    responses=problem_responses(404),
    summary="Create an API token for a user",
)
def token(name: UserName, state: State, _user: AdminUser, by: Acting) -> TokenOut:
    """A new bearer token for a user, shown once (only its hash is stored)."""
    return _new_token(state, name, "api", by)
