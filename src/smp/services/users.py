"""First run: create the `admin` user when there is no admin yet."""

from __future__ import annotations

import secrets

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from smp.storage.users import UserRole, count_admins, create_user

FIRST_ADMIN = "admin"


def ensure_first_admin(engine: Engine, password: str | None) -> str | None:
    """Create `admin` if no admin exists; return the password when it was generated.

    With `password` given (from `SMP_ADMIN_PASSWORD`) nothing needs printing.
    """
    with Session(engine) as session, session.begin():
        if count_admins(session):
            return None
        generated = None
        if not password:
            generated = password = secrets.token_urlsafe(15)
        create_user(session, FIRST_ADMIN, password, UserRole.ADMIN)
    return generated
