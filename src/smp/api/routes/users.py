"""`/users`: SMP's own users. Only admins manage them; anyone can ask who they are."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from sqlalchemy.orm import Session

from smp.api.auth import AdminUser, CurrentUser, State
from smp.api.params import Limit, Offset
from smp.api.problems import ApiProblem, problem_responses
from smp.api.schemas import Page, TokenOut, UserCreate, UserOut
from smp.storage import DuplicateNameError, NotFoundError, StorageError, read_session
from smp.storage.users import (
    User,
    UserRole,
    create_api_token,
    create_user,
    delete_user,
    list_users,
)

router = APIRouter(tags=["users"], responses=problem_responses(403))

UserName = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9._-]+$")]


def user_out(user: User) -> UserOut:
    return UserOut(name=user.name, role=user.role.value, created_at=user.created_at)


@router.get("/users/me", response_model=UserOut)
def me(user: CurrentUser) -> UserOut:
    return user_out(user)


@router.get("/users", response_model=Page[UserOut])
def users(
    state: State, _user: AdminUser, limit: Limit = 50, offset: Offset = 0
) -> Page[UserOut]:
    with read_session(state.engine) as session:
        found = list_users(session)
    items = [user_out(u) for u in found[offset : offset + limit]]
    return Page(items=items, total=len(found), limit=limit, offset=offset)


@router.post(
    "/users", status_code=201, response_model=UserOut, responses=problem_responses(409)
)
def add(body: UserCreate, state: State, _user: AdminUser) -> UserOut:
    try:
        with Session(state.engine) as session, session.begin():
            created = create_user(
                session,
                body.name,
                body.password.get_secret_value(),
                UserRole(body.role),
            )
    except DuplicateNameError as error:
        raise ApiProblem(409, str(error)) from None
    except StorageError as error:
        raise ApiProblem(422, str(error)) from None
    return user_out(created)


@router.delete(
    "/users/{name}",
    status_code=204,
    response_class=Response,
    responses=problem_responses(404, 409),
)
def remove(name: UserName, state: State, user: AdminUser) -> Response:
    if name == user.name:
        raise ApiProblem(409, "you cannot remove yourself")
    try:
        with Session(state.engine) as session, session.begin():
            delete_user(session, name)
    except NotFoundError:
        raise ApiProblem(404, f"no user {name!r}") from None
    except StorageError as error:
        raise ApiProblem(409, str(error)) from None
    return Response(status_code=204)


@router.post(
    "/users/{name}/tokens",
    status_code=201,
    response_model=TokenOut,
    responses=problem_responses(404),
)
def token(name: UserName, state: State, _user: AdminUser) -> TokenOut:
    """A new bearer token for a user, shown once (only its hash is stored)."""
    try:
        with Session(state.engine) as session, session.begin():
            _, raw = create_api_token(session, name, "api")
    except NotFoundError:
        raise ApiProblem(404, f"no user {name!r}") from None
    return TokenOut(token=raw, label="api")
