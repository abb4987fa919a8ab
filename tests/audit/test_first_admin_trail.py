"""The first admin that `smp serve` creates is in the trail, on both databases
(a module of its own: its fresh database has no admin yet)."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from smp.services.users import ensure_first_admin
from smp.storage.tables import AuditEventRow


def test_the_first_admin_is_recorded_once(engine: Engine) -> None:
    assert ensure_first_admin(engine, "a first password nobody may read 1") is None
    assert ensure_first_admin(engine, None) is None  # an admin exists: nothing
    with Session(engine) as session:
        rows = session.execute(
            select(
                AuditEventRow.actor,
                AuditEventRow.source,
                AuditEventRow.action,
                AuditEventRow.target,
                AuditEventRow.details,
            )
        ).all()
    assert [tuple(row) for row in rows] == [
        (None, "serve", "user.add", "admin", {"role": "admin", "first_admin": True})
    ]
