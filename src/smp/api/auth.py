"""API authentication: bearer tokens from `smp users token NAME`, stored hashed.

`current_user` answers 401 (with `WWW-Authenticate: Bearer`) without a valid
token; `admin_user` answers 403 to a viewer. Writes depend on `admin_user`.
A token's `last_used_at` is written at most once a minute, so reads rarely write.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from smp.api.problems import ApiProblem
from smp.model.users import User
from smp.runtime.server_state import AppState, app_state
from smp.services import audit
from smp.storage import read_session
from smp.storage.users import (
    find_api_token,
    mark_token_used,
    token_use_is_due,
)

bearer = HTTPBearer(auto_error=False, description="A token from `smp users token NAME`")

UNAUTHENTICATED = {"WWW-Authenticate": 'Bearer realm="smp"'}


def token_user(state: AppState, token: str) -> User | None:
    """The token's user; notes the use, at most once a minute per token."""
    with read_session(state.engine) as session:
        found = find_api_token(session, token)
    if found is None:
        return None
    user, record = found
    now = state.context.now()
    if token_use_is_due(record, now):
        with Session(state.engine) as session, session.begin():
            mark_token_used(session, record.id, now=now)
    return user


def current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    user = None
    if credentials is not None and credentials.scheme.lower() == "bearer":
        state = app_state(request)
        user = token_user(state, credentials.credentials)
        if user is None:  # never the token itself: it may be a real one mistyped
            address = request.client.host if request.client else "unknown"
            why = "unknown or revoked token"
            audit.record_failed_login(state.engine, address, audit.API_TOKEN, why)
    if user is None:
        raise ApiProblem(
            401, "a valid bearer token is required", headers=UNAUTHENTICATED
        )
    return user


def admin_user(user: Annotated[User, Depends(current_user)]) -> User:
    if not user.is_admin:
        raise ApiProblem(403, "this needs the admin role; viewers can only read")
    return user


CurrentUser = Annotated[User, Depends(current_user)]
AdminUser = Annotated[User, Depends(admin_user)]
State = Annotated[AppState, Depends(app_state)]
