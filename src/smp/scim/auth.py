"""Who may call /scim/v2: the holder of a token from `smp people scim-token`.

SCIM tokens have their own table: an API token of an SMP user does not open
SCIM, and a SCIM token does not open the API. A token's last use is written
at most once a minute, so a busy identity provider rarely writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from scim2_models import UnauthorizedException
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from smp.storage import read_session
from smp.storage.scim_tokens import ScimToken, find_scim_token, mark_scim_token_used

REFUSAL = "a valid SCIM bearer token is required (make one with smp people scim-token)"


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer ...` header, else None."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def authenticate(
    engine: Engine, authorization: str | None, now: Callable[[], dt.datetime]
) -> ScimToken:
    """The token's record; UnauthorizedException (401) for anything else."""
    raw = bearer_token(authorization)
    found = None
    if raw is not None:
        with read_session(engine) as session:
            found = find_scim_token(session, raw)
    if found is None:
        raise UnauthorizedException(detail=REFUSAL)
    moment = now()
    if found.use_is_due(moment):
        with Session(engine) as session, session.begin():
            mark_scim_token_used(session, found.id, now=moment)
    return found
