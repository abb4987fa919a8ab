"""Users of SMP itself: the repository of users, API tokens and browser sessions.

Secrets are never stored as given: passwords arrive already hashed (the
hashing and the rules are `smp.services.users`' job), API tokens and session
ids are kept as SHA-256 digests (they are long random strings, so a fast hash
is enough). A new password ends the user's sessions and API tokens. Like every
repository here, nothing commits: the caller does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass, field

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from smp.model.users import MAX_USER_NAME, ApiToken, User, UserRole, name_key
from smp.storage.errors import DuplicateNameError, RecordNotFoundError, StorageError
from smp.storage.tables import ApiTokenRow, UserRow, WebSessionRow

TOKEN_PREFIX = "smp_"
# A token's last use is written at most this often, not on every request.
TOKEN_USE_RESOLUTION = dt.timedelta(minutes=1)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _user(row: UserRow) -> User:
    return User(
        id=row.id,
        name=row.display_name,
        role=UserRole(row.role),
        created_at=row.created_at,
        time_zone=row.time_zone or "UTC",
    )


def insert_user(
    session: Session,
    name: str,
    role: UserRole,
    password_hash: str,
    *,
    now: dt.datetime | None = None,
) -> User:
    """Add a user whose name is already clean (`smp.model.users.clean_user_name`)."""
    key = name_key(name)
    if session.scalar(select(UserRow.id).where(UserRow.name == key)) is not None:
        raise DuplicateNameError(f"a user named {name!r} already exists")
    row = UserRow(
        name=key,
        display_name=name,
        role=str(role),
        password_hash=password_hash,
        created_at=now or _now(),
    )
    session.add(row)
    session.flush()
    return _user(row)


def _user_row(session: Session, name: str) -> UserRow:
    row = session.scalar(select(UserRow).where(UserRow.name == name_key(name)))
    if row is None:
        raise RecordNotFoundError(f"no user {name!r}")
    return row


def get_user(session: Session, name: str) -> User:
    return _user(_user_row(session, name))


def get_user_by_id(session: Session, user_id: int) -> User:
    row = session.get(UserRow, user_id)
    if row is None:
        raise RecordNotFoundError(f"no user {user_id}")
    return _user(row)


def list_users(session: Session) -> list[User]:
    return [
        _user(row) for row in session.scalars(select(UserRow).order_by(UserRow.name))
    ]


def count_users(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(UserRow)) or 0)


def count_admins(session: Session) -> int:
    query = select(func.count()).where(UserRow.role == str(UserRole.ADMIN))
    return int(session.scalar(query.select_from(UserRow)) or 0)


def delete_user(session: Session, name: str) -> None:
    """Delete a user with their tokens and sessions; the last admin stays."""
    row = _user_row(session, name)
    if row.role == UserRole.ADMIN and count_admins(session) <= 1:
        raise StorageError("the last admin cannot be removed")
    session.delete(row)
    session.flush()


def set_role(session: Session, name: str, role: UserRole) -> User:
    """Change a user's role; the last admin keeps theirs."""
    row = _user_row(session, name)
    demoting = row.role == UserRole.ADMIN and role is not UserRole.ADMIN
    if demoting and count_admins(session) <= 1:
        raise StorageError("the last admin cannot stop being an admin")
    row.role = str(role)
    session.flush()
    return _user(row)


def store_time_zone(session: Session, name: str, time_zone: str) -> User:
    """Store a time zone the caller has checked (`smp.services.users`)."""
    row = _user_row(session, name)
    row.time_zone = time_zone
    session.flush()
    return _user(row)


def store_password_hash(session: Session, name: str, password_hash: str) -> None:
    """Store a new password's hash; end the user's browser sessions and tokens.

    Whoever knew the old password may have signed in or made a token with it.
    """
    row = _user_row(session, name)
    row.password_hash = password_hash
    session.execute(delete(WebSessionRow).where(WebSessionRow.user_id == row.id))
    session.execute(delete(ApiTokenRow).where(ApiTokenRow.user_id == row.id))


@dataclass(frozen=True, slots=True)
class Login:
    """A user found by name, with the stored hash to check a password against."""

    user: User
    password_hash: str = field(repr=False)


def find_login(session: Session, name: str) -> Login | None:
    if len(name) > MAX_USER_NAME:
        return None
    row = session.scalar(select(UserRow).where(UserRow.name == name_key(name)))
    return None if row is None else Login(_user(row), row.password_hash)


def replace_password_hash(session: Session, found: Login, new_hash: str) -> None:
    """Store a rehash, unless the password changed since `found` was read."""
    unchanged = UserRow.password_hash == found.password_hash
    session.execute(
        update(UserRow)
        .where(UserRow.id == found.user.id, unchanged)
        .values(password_hash=new_hash)
    )


# --- API tokens -------------------------------------------------------------------


def create_api_token(
    session: Session, name: str, label: str = "", *, now: dt.datetime | None = None
) -> tuple[ApiToken, str]:
    """A new bearer token for a user: (its record, the token, to show once)."""
    row_user = _user_row(session, name)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiTokenRow(
        user_id=row_user.id,
        token_hash=_digest(raw),
        label=label.strip()[:100],
        created_at=now or _now(),
    )
    session.add(row)
    session.flush()
    return ApiToken(row.id, row.user_id, row.label, row.created_at), raw


def _token(row: ApiTokenRow) -> ApiToken:
    return ApiToken(row.id, row.user_id, row.label, row.created_at, row.last_used_at)


def find_api_token(session: Session, raw: str) -> tuple[User, ApiToken] | None:
    """The user a bearer token belongs to, and the token's record."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    found = session.execute(
        select(UserRow, ApiTokenRow)
        .join(ApiTokenRow, ApiTokenRow.user_id == UserRow.id)
        .where(ApiTokenRow.token_hash == _digest(raw))
    ).one_or_none()
    return None if found is None else (_user(found[0]), _token(found[1]))


def user_for_token(session: Session, raw: str) -> User | None:
    found = find_api_token(session, raw)
    return None if found is None else found[0]


def token_use_is_due(token: ApiToken, now: dt.datetime) -> bool:
    """Whether a use at `now` should be written (at most once a minute)."""
    last = token.last_used_at
    return last is None or now - last >= TOKEN_USE_RESOLUTION


def mark_token_used(session: Session, token_id: int, *, now: dt.datetime) -> None:
    """Write `now` as the token's last use, unless a use this minute is written.

    The condition is in the UPDATE, so requests racing each other write once.
    """
    session.execute(
        update(ApiTokenRow)
        .where(
            ApiTokenRow.id == token_id,
            or_(
                ApiTokenRow.last_used_at.is_(None),
                ApiTokenRow.last_used_at <= now - TOKEN_USE_RESOLUTION,
            ),
        )
        .values(last_used_at=now)
    )


def list_api_tokens(session: Session, name: str) -> list[ApiToken]:
    user = _user_row(session, name)
    rows = session.scalars(
        select(ApiTokenRow)
        .where(ApiTokenRow.user_id == user.id)
        .order_by(ApiTokenRow.id)
    )
    return [_token(row) for row in rows]


def revoke_api_token(session: Session, name: str, token_id: int) -> None:
    """Revoke one of a user's own tokens; another user's token is not found."""
    user = _user_row(session, name)
    result = session.execute(
        delete(ApiTokenRow).where(
            ApiTokenRow.id == token_id, ApiTokenRow.user_id == user.id
        )
    )
    if not getattr(result, "rowcount", 0):
        raise RecordNotFoundError(f"{name!r} has no token {token_id}")


def revoke_api_tokens(session: Session, name: str) -> int:
    user = _user_row(session, name)
    result = session.execute(delete(ApiTokenRow).where(ApiTokenRow.user_id == user.id))
    return int(getattr(result, "rowcount", 0) or 0)


# --- browser sessions -------------------------------------------------------------


def create_web_session(
    session: Session, user_id: int, *, ttl: dt.timedelta, now: dt.datetime | None = None
) -> tuple[str, str]:
    """(session id for the cookie, CSRF token for the forms)."""
    moment = now or _now()
    raw = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session.add(
        WebSessionRow(
            id_hash=_digest(raw),
            user_id=user_id,
            csrf_token=csrf,
            created_at=moment,
            expires_at=moment + ttl,
        )
    )
    session.flush()
    return raw, csrf


def web_session_user(
    session: Session, raw: str, *, now: dt.datetime | None = None
) -> tuple[User, str] | None:
    """(user, CSRF token) of a live session, or None."""
    if not raw or len(raw) > 100:
        return None
    found = session.execute(
        select(UserRow, WebSessionRow.csrf_token)
        .join(WebSessionRow, WebSessionRow.user_id == UserRow.id)
        .where(
            WebSessionRow.id_hash == _digest(raw),
            WebSessionRow.expires_at > (now or _now()),
        )
    ).first()
    if found is None:
        return None
    row, csrf = found
    return _user(row), csrf


def end_web_session(session: Session, raw: str) -> None:
    session.execute(delete(WebSessionRow).where(WebSessionRow.id_hash == _digest(raw)))


def purge_expired_sessions(session: Session, *, now: dt.datetime) -> int:
    """Delete every session that has expired by `now`; returns how many."""
    result = session.execute(
        delete(WebSessionRow).where(WebSessionRow.expires_at <= now)
    )
    return int(getattr(result, "rowcount", 0) or 0)
