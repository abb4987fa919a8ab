"""Reading the audit trail in tests: what was recorded since a given moment."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from smp.storage.tables import AuditEventRow


def last_audit_id(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.max(AuditEventRow.id))) or 0


def audited_since(engine: Engine, after: int, action: str) -> Sequence[AuditEventRow]:
    """Entries with `action` recorded after the entry `after`, oldest first."""
    with Session(engine) as session:
        return session.scalars(
            select(AuditEventRow)
            .where(AuditEventRow.action == action, AuditEventRow.id > after)
            .order_by(AuditEventRow.id)
        ).all()
