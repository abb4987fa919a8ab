"""SCIM bearer tokens: made by `smp people scim-token`, kept as SHA-256 digests.

They live in their own table, apart from the API tokens of SMP's users, so a
SCIM token never opens `/api/v1` and an API token never opens `/scim/v2`. The
token is a long random string, so a fast hash is enough; it is shown once.
Like every repository here, nothing commits: the caller does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from smp.storage.tables import ScimTokenRow

# Tells a SCIM token apart from an API token (`smp_`) at a glance, in logs or
# in an identity provider's form.
SCIM_TOKEN_PREFIX = "smpscim_"
# A token's last use is written at most this often, not on every request.
SCIM_TOKEN_USE_RESOLUTION = dt.timedelta(minutes=1)
# Longer than any token SMP makes: a longer string is refused before hashing.
MAX_TOKEN_CHARS = 200


@dataclass(frozen=True, slots=True)
class ScimToken:
    id: int
    label: str
    created_by: str | None
    created_at: dt.datetime
    last_used_at: dt.datetime | None = None

    def use_is_due(self, now: dt.datetime) -> bool:
        """Whether a use at `now` should be written (at most once a minute)."""
        return (
            self.last_used_at is None
            or now - self.last_used_at >= SCIM_TOKEN_USE_RESOLUTION
        )


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _token(row: ScimTokenRow) -> ScimToken:
    return ScimToken(
        row.id, row.label, row.created_by, row.created_at, row.last_used_at
    )


def create_scim_token(
    session: Session, label: str, *, created_by: str | None, now: dt.datetime
) -> tuple[ScimToken, str]:
    """A new SCIM token: (its record, the token itself, to show once)."""
    raw = SCIM_TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ScimTokenRow(
        token_hash=_digest(raw),
        label=label,
        created_by=created_by,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return _token(row), raw


def find_scim_token(session: Session, raw: str) -> ScimToken | None:
    """The record of a SCIM token, or None for anything else (an API token too)."""
    if not raw.startswith(SCIM_TOKEN_PREFIX) or len(raw) > MAX_TOKEN_CHARS:
        return None
    row = session.scalar(
        select(ScimTokenRow).where(ScimTokenRow.token_hash == _digest(raw))
    )
    return None if row is None else _token(row)


def mark_scim_token_used(session: Session, token_id: int, *, now: dt.datetime) -> None:
    """Write `now` as the token's last use, unless a use this minute is written.

    The condition is in the UPDATE, so requests racing each other write once.
    """
    session.execute(
        update(ScimTokenRow)
        .where(
            ScimTokenRow.id == token_id,
            or_(
                ScimTokenRow.last_used_at.is_(None),
                ScimTokenRow.last_used_at <= now - SCIM_TOKEN_USE_RESOLUTION,
            ),
        )
        .values(last_used_at=now)
    )


def list_scim_tokens(session: Session) -> list[ScimToken]:
    rows = session.scalars(select(ScimTokenRow).order_by(ScimTokenRow.id))
    return [_token(row) for row in rows]


def revoke_scim_token(session: Session, token_id: int) -> bool:
    """Delete a SCIM token; False when there is no such token."""
    gone = session.execute(delete(ScimTokenRow).where(ScimTokenRow.id == token_id))
    return bool(getattr(gone, "rowcount", 0))
