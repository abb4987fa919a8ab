"""Browser sessions: a random id in an HttpOnly cookie, a CSRF token for every form.

The session table stores only a hash of the id. Every POST form carries the
session's CSRF token; a form without it (or with another) is refused with 403.
The login form, which has no session yet, uses a double-submit cookie instead.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response

from smp.model.users import User
from smp.runtime.server_state import AppState, app_state
from smp.storage import read_session
from smp.storage.users import web_session_user

SESSION_COOKIE = "smp_session"
LOGIN_CSRF_COOKIE = "smp_login_csrf"


class LoginRequired(Exception):
    """No live session: HTML pages redirect to the login page."""


class Refused(Exception):
    """A 4xx page with a message (viewer writes, bad CSRF, bad input)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class SignedIn:
    user: User
    csrf: str
    state: AppState


def session_user(request: Request) -> tuple[User, str] | None:
    raw = request.cookies.get(SESSION_COOKIE, "")
    if not raw:
        return None
    state = app_state(request)
    with read_session(state.engine) as session:
        return web_session_user(session, raw, now=state.context.now())


def cookie_user(request: Request) -> User | None:
    found = session_user(request)
    return found[0] if found else None


def signed_in(request: Request) -> SignedIn:
    found = session_user(request)
    if found is None:
        raise LoginRequired
    return SignedIn(found[0], found[1], app_state(request))


def check_csrf(expected: str, given: str) -> None:
    if not given or not hmac.compare_digest(expected.encode(), given.encode()):
        raise Refused(
            403,
            "This form has expired or did not come from SMP. "
            "Reload the page and try again.",
        )


def require_admin(who: SignedIn) -> None:
    if not who.user.is_admin:
        raise Refused(403, "Only an admin can do this; your role is viewer.")


def secure_cookies(request: Request) -> bool:
    """Secure when configured, or when the request came over https: directly
    (`smp serve --ssl-certfile`) or through a trusted proxy's X-Forwarded-Proto,
    which uvicorn applies to the scheme for `--forwarded-allow-ips` only."""
    return app_state(request).config.secure_cookies or request.url.scheme == "https"


def set_session_cookie(
    response: Response, raw: str, *, secure: bool, max_age: int
) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        raw,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


SignedInUser = Annotated[SignedIn, Depends(signed_in)]
