"""Sign in and out. Failed sign-ins slow down one user name at one client address.

See `smp.storage.logins`: a stranger's guesses at `admin` never make `admin`
wait at another address.
"""

from __future__ import annotations

import datetime as dt
import math

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from smp.model.users import name_key
from smp.runtime.server_state import app_state
from smp.services import audit
from smp.services.users import check_login, upgraded_hash
from smp.storage.logins import login_succeeded, start_login_attempt
from smp.storage.users import (
    create_web_session,
    end_web_session,
    find_login,
    purge_expired_sessions,
    replace_password_hash,
)
from smp.web.deps import PagesDep
from smp.web.forms import FormText, has_control
from smp.web.session import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    SignedInUser,
    check_csrf,
    new_login_csrf,
    secure_cookies,
    session_user,
    set_session_cookie,
)

router = APIRouter(include_in_schema=False)
WRONG_LOGIN = "Wrong user name or password."


def _login_page(
    request: Request, pages: PagesDep, status: int = 200, **extra: object
) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or new_login_csrf()
    response = pages.render(
        request, "login.html", None, status=status, login_csrf=token, **extra
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        path="/login",
        secure=secure_cookies(request),
    )
    return response


@router.get("/login")
def login_form(request: Request, pages: PagesDep) -> Response:
    if session_user(request) is not None:
        return RedirectResponse("/integrations", status_code=303)
    return _login_page(request, pages)


def _wait_text(wait: dt.timedelta) -> str:
    seconds = math.ceil(wait.total_seconds())
    if seconds < 120:
        return "1 second" if seconds == 1 else f"{seconds} seconds"
    return f"{math.ceil(seconds / 60)} minutes"


def _refused(
    request: Request, pages: PagesDep, shown: str, wait: dt.timedelta
) -> Response:
    response = _login_page(
        request,
        pages,
        status=429,
        username=shown,
        error=f"Too many failed sign-ins. Try again in {_wait_text(wait)}.",
    )
    response.headers["Retry-After"] = str(math.ceil(wait.total_seconds()))
    return response


@router.post("/login")
def login(
    request: Request,
    pages: PagesDep,
    username: FormText = "",
    password: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    check_csrf(request.cookies.get(LOGIN_CSRF_COOKIE, ""), csrf_token)
    state = app_state(request)
    config = state.config
    now = state.context.now()
    # Behind a proxy in --forwarded-allow-ips, uvicorn has put X-Forwarded-For here.
    client = request.client.host if request.client else "unknown"
    # No user name has control characters; NUL would even break PostgreSQL.
    plausible = not has_control(username)
    # Counted under the name's key, as sign-in finds it: "Alice  Smith" and
    # "alice smith" are one name to the throttle too.
    name = name_key(username)[:64] if plausible else "(control characters)"
    shown = username[:64] if plausible else ""
    with Session(state.engine) as session, session.begin():
        attempt = start_login_attempt(
            session, name, client, now=now, policy=config.login_throttle
        )
        found = find_login(session, username) if plausible else None
    # Only a real user's name: an unknown one may be a password typed there.
    target = audit.UNKNOWN_USER if found is None else found.user.name
    if isinstance(attempt, dt.timedelta):
        audit.record_failed_login(
            state.engine, client, target, "too many failed sign-ins"
        )
        return _refused(request, pages, shown, attempt)
    # The check and any rehash take most of a second: outside any transaction.
    if not check_login(found, password) or found is None:
        audit.record_failed_login(
            state.engine, client, target, "wrong user name or password"
        )
        return _login_page(
            request, pages, status=401, username=shown, error=WRONG_LOGIN
        )
    new_hash = upgraded_hash(found, password)
    with Session(state.engine) as session, session.begin():
        login_succeeded(session, name, client, attempt)
        audit.record(session, audit.Actor(found.user.name, client), "login", name)
        if new_hash:
            replace_password_hash(session, found, new_hash)
        purge_expired_sessions(session, now=now)
        raw, _ = create_web_session(
            session, found.user.id, ttl=config.session_ttl, now=now
        )
    response = RedirectResponse("/integrations", status_code=303)
    set_session_cookie(
        response,
        raw,
        secure=secure_cookies(request),
        max_age=int(config.session_ttl.total_seconds()),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, who: SignedInUser, csrf_token: FormText = "") -> Response:
    check_csrf(who.csrf, csrf_token)
    with Session(who.state.engine) as session, session.begin():
        end_web_session(session, request.cookies.get(SESSION_COOKIE, ""))
        by = audit.request_actor(who.user.name, request)
        audit.record(session, by, "logout", who.user.name)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
