"""Users of SMP itself: passwords, API tokens, browser sessions, login throttling.

Secrets are never stored as given: passwords as scrypt hashes, API tokens and
session ids as SHA-256 digests (they are long random strings, so a fast hash
is enough). Like every repository here, nothing commits: the caller does.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from smp.storage.errors import DuplicateNameError, NotFoundError, StorageError
from smp.storage.tables import ApiTokenRow, LoginFailureRow, UserRow, WebSessionRow

MAX_USER_NAME = 64
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
TOKEN_PREFIX = "smp_"
# scrypt cost: about 30 ms per check on the 2-core reference machine.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


class UserRole(StrEnum):
    ADMIN = "admin"
    VIEWER = "viewer"


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    role: UserRole
    created_at: dt.datetime

    @property
    def is_admin(self) -> bool:
        return self.role is UserRole.ADMIN


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: int
    user_id: int
    label: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None = None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    derived = hashlib.scrypt(
        password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P
    )
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(derived)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        derived = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
        )
    except ValueError:
        return False
    return hmac.compare_digest(derived, base64.b64decode(expected))


def _user(row: UserRow) -> User:
    return User(
        id=row.id, name=row.name, role=UserRole(row.role), created_at=row.created_at
    )


def clean_user_name(name: str) -> str:
    """Lower-case letters, digits, `.`, `_`, `-`; 1 to 64 characters."""
    cleaned = name.strip().lower()
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789._-")
    if not cleaned or len(cleaned) > MAX_USER_NAME or set(cleaned) - allowed:
        raise StorageError(
            f"a user name has 1 to {MAX_USER_NAME} characters among a-z, 0-9, '.', "
            "'_' and '-'"
        )
    return cleaned


def check_password_rules(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise StorageError(
            f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters"
        )


def create_user(
    session: Session,
    name: str,
    password: str,
    role: UserRole,
    *,
    now: dt.datetime | None = None,
) -> User:
    cleaned = clean_user_name(name)
    check_password_rules(password)
    if session.scalar(select(UserRow.id).where(UserRow.name == cleaned)) is not None:
        raise DuplicateNameError(f"a user named {cleaned!r} already exists")
    row = UserRow(
        name=cleaned,
        role=str(role),
        password_hash=hash_password(password),
        created_at=now or _now(),
    )
    session.add(row)
    session.flush()
    return _user(row)


def _user_row(session: Session, name: str) -> UserRow:
    row = session.scalar(select(UserRow).where(UserRow.name == name.strip().lower()))
    if row is None:
        raise NotFoundError(f"no user {name!r}")
    return row


def get_user(session: Session, name: str) -> User:
    return _user(_user_row(session, name))


def get_user_by_id(session: Session, user_id: int) -> User:
    row = session.get(UserRow, user_id)
    if row is None:
        raise NotFoundError(f"no user {user_id}")
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


def set_password(session: Session, name: str, password: str) -> None:
    """Change a password and end that user's browser sessions."""
    check_password_rules(password)
    row = _user_row(session, name)
    row.password_hash = hash_password(password)
    session.execute(delete(WebSessionRow).where(WebSessionRow.user_id == row.id))


def authenticate(session: Session, name: str, password: str) -> User | None:
    """The user when the password matches, else None (same cost either way)."""
    row = None
    if len(name) <= MAX_USER_NAME and len(password) <= MAX_PASSWORD:
        row = session.scalar(
            select(UserRow).where(UserRow.name == name.strip().lower())
        )
    if row is None:
        # Hash anyway, so a missing user takes as long as a wrong password.
        verify_password(password[:MAX_PASSWORD], _DUMMY_HASH)
        return None
    return _user(row) if verify_password(password, row.password_hash) else None


_DUMMY_HASH = (
    "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="
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


def user_for_token(session: Session, raw: str) -> User | None:
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    found = session.execute(
        select(UserRow)
        .join(ApiTokenRow, ApiTokenRow.user_id == UserRow.id)
        .where(ApiTokenRow.token_hash == _digest(raw))
    ).scalar_one_or_none()
    return None if found is None else _user(found)


def list_api_tokens(session: Session, name: str) -> list[ApiToken]:
    user = _user_row(session, name)
    rows = session.scalars(
        select(ApiTokenRow)
        .where(ApiTokenRow.user_id == user.id)
        .order_by(ApiTokenRow.id)
    )
    return [
        ApiToken(r.id, r.user_id, r.label, r.created_at, r.last_used_at) for r in rows
    ]


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


# --- login throttling -------------------------------------------------------------


def record_login_failure(
    session: Session, subjects: list[str], *, now: dt.datetime | None = None
) -> None:
    moment = now or _now()
    for subject in subjects:
        session.add(LoginFailureRow(subject=subject[:200], occurred_at=moment))
    session.flush()


def recent_login_failures(session: Session, subject: str, *, since: dt.datetime) -> int:
    query = select(func.count()).where(
        LoginFailureRow.subject == subject[:200], LoginFailureRow.occurred_at >= since
    )
    return int(session.scalar(query.select_from(LoginFailureRow)) or 0)


def forget_login_failures(
    session: Session, subjects: list[str], *, before: dt.datetime | None = None
) -> None:
    """Clear a subject's failures (after a good login), or all older ones."""
    query = delete(LoginFailureRow)
    if subjects:
        query = query.where(LoginFailureRow.subject.in_([s[:200] for s in subjects]))
    if before is not None:
        query = query.where(LoginFailureRow.occurred_at < before)
    session.execute(query)
