"""Sign in and out. Failed logins are throttled per user name and per client address."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from smp.api.state import app_state
from smp.storage.users import (
    authenticate,
    create_web_session,
    end_web_session,
    forget_login_failures,
    recent_login_failures,
    record_login_failure,
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
    client = request.client.host if request.client else "unknown"
    # No user name has control characters; NUL would even break PostgreSQL.
    plausible = not has_control(username)
    shown = username.strip().lower()[:64] if plausible else "(control characters)"
    subjects = [f"user:{shown}", f"ip:{client}"]
    with Session(state.engine) as session, session.begin():
        since = now - config.login_window
        forget_login_failures(session, [], before=now - 2 * config.login_window)
        if any(
            recent_login_failures(session, s, since=since) >= config.login_max_failures
            for s in subjects
        ):
            minutes = int(config.login_window.total_seconds() // 60)
            response = _login_page(
                request,
                pages,
                status=429,
                username=username[:64] if plausible else "",
                error=f"Too many failed sign-ins. Try again in {minutes} minutes.",
            )
            response.headers["Retry-After"] = str(
                int(config.login_window.total_seconds())
            )
            return response
        user = authenticate(session, username, password) if plausible else None
        if user is None:
            record_login_failure(session, subjects, now=now)
        else:
            forget_login_failures(session, subjects[:1])
            raw, _ = create_web_session(
                session, user.id, ttl=config.session_ttl, now=now
            )
    if user is None:
        return _login_page(
            request,
            pages,
            status=401,
            username=username[:64] if plausible else "",
            error="Wrong user name or password.",
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
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
