"""A one-time message after a change ("Removed key …"), shown on the next page.

It travels in a short-lived cookie signed with the session's CSRF token, so
another session (or a cookie set elsewhere) cannot plant a message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from smp.web.session import SignedIn, secure_cookies

FLASH_COOKIE = "smp_flash"
MAX_AGE_S = 120


def _signature(csrf: str, message: bytes) -> str:
    digest = hmac.new(csrf.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def set_flash(
    response: Response, request: Request, who: SignedIn, message: str
) -> Response:
    """Have the next page say `message`."""
    raw = message.encode("utf-8")
    value = base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
    response.set_cookie(
        FLASH_COOKIE,
        f"{value}.{_signature(who.csrf, raw)}",
        max_age=MAX_AGE_S,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
        path="/",
    )
    return response


def take_flash(request: Request, who: SignedIn | None) -> str | None:
    """The message waiting for this session, if any (the caller clears the cookie)."""
    value, _, signature = request.cookies.get(FLASH_COOKIE, "").partition(".")
    if who is None or not value:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        message = raw.decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    if not hmac.compare_digest(signature, _signature(who.csrf, raw)):
        return None
    return message


def redirect_saying(
    url: str, request: Request, who: SignedIn, message: str
) -> Response:
    """See-other to `url`, whose page then says `message` (post/redirect/get)."""
    return set_flash(RedirectResponse(url, status_code=303), request, who, message)
