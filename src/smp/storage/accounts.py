"""Account identity, subusers and invoices: save what a sync fetched, query it back.

Invoices are never deleted. Subusers missing from a complete listing are marked
removed (kept, with `removed_at`). A subuser whose credits were not read this
time keeps its stored credits; one whose credits were read takes them as they
are, nulls included (unlimited credits have no totals).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.orm import Session

from smp.model import AccountIdentity, Integration, Invoice, Subuser
from smp.storage.integrations import get_integration
from smp.storage.tables import (
    AccountIdentityRow,
    InvoiceRow,
    ServiceAccountRow,
    SubuserRow,
)
from smp.storage.upsert import upsert

CREDIT_COLUMNS = (
    "credit_type",
    "credits_total",
    "credits_used",
    "credits_remain",
    "reset_frequency",
)


def save_identity(
    session: Session,
    integration_id: int,
    identity: AccountIdentity,
    *,
    source_sa_id: int | None,
    now: dt.datetime,
) -> None:
    row = {
        "integration_id": integration_id,
        "username": identity.username,
        "user_id": identity.user_id,
        "account_type": identity.account_type,
        "source_service_account_id": source_sa_id,
        "synced_at": now,
    }
    upsert(session, AccountIdentityRow, [row], keys=("integration_id",))


def get_identity(session: Session, integration_id: int) -> AccountIdentity | None:
    row = session.get(AccountIdentityRow, integration_id)
    if row is None:
        return None
    return AccountIdentity(
        username=row.username,
        user_id=row.user_id,
        account_type=row.account_type,
        source_service_account_id=row.source_service_account_id,
        synced_at=row.synced_at,
    )


def account_holder(
    session: Session, username: str, user_id: int | None
) -> Integration | None:
    """The integration already connected to this SendGrid account, if any.

    SendGrid's user id names an account for good; the username is compared only
    where either id is unknown.
    """
    same = AccountIdentityRow.username == username
    if user_id is not None:
        same = or_(
            AccountIdentityRow.user_id == user_id,
            and_(same, AccountIdentityRow.user_id.is_(None)),
        )
    integration_id = session.scalar(
        select(AccountIdentityRow.integration_id).where(same).limit(1)
    )
    return None if integration_id is None else get_integration(session, integration_id)


def save_subusers(
    session: Session,
    integration_id: int,
    subusers: Iterable[Subuser],
    *,
    source_sa_id: int | None,
    now: dt.datetime,
    complete: bool = True,
) -> int:
    """Upsert subusers by username; with a complete listing, mark the rest removed."""
    rows: list[dict[str, Any]] = [
        {
            "integration_id": integration_id,
            "username": sub.username,
            "sendgrid_id": sub.sendgrid_id,
            "email": sub.email,
            "disabled": sub.disabled,
            "region": sub.region,
            "credit_type": sub.credit_type,
            "credits_total": sub.credits_total,
            "credits_used": sub.credits_used,
            "credits_remain": sub.credits_remain,
            "reset_frequency": sub.reset_frequency,
            "first_seen": now,
            "last_seen": now,
            "removed_at": None,
            "source_service_account_id": source_sa_id,
            "synced_at": now,
        }
        for sub in subusers
    ]
    columns = [c for c in rows[0] if c != "first_seen"] if rows else []
    # SendGrid always names the credit type, so a subuser without one had no
    # credits read this time and keeps its stored figures. One with credits
    # takes them whole: switched to unlimited, its totals become null.
    read = [row for row in rows if row["credit_type"] is not None]
    unread = [row for row in rows if row["credit_type"] is None]
    keys = ("integration_id", "username")
    upsert(session, SubuserRow, read, keys=keys, update=columns)
    kept = [c for c in columns if c not in CREDIT_COLUMNS]
    upsert(session, SubuserRow, unread, keys=keys, update=kept)
    if complete:
        listed = [row["username"] for row in rows]
        session.execute(
            update(SubuserRow)
            .where(
                SubuserRow.integration_id == integration_id,
                SubuserRow.removed_at.is_(None),
                SubuserRow.username.not_in(listed),
            )
            .values(removed_at=now)
        )
    return len(rows)


def credit_bases(
    session: Session, integration_id: int
) -> dict[str, tuple[dt.datetime | None, str | None]]:
    """Listed subuser -> (when its credits were read, the figures they match)."""
    rows = session.execute(
        select(
            SubuserRow.username, SubuserRow.credits_read_at, SubuserRow.credits_basis
        ).where(
            SubuserRow.integration_id == integration_id,
            SubuserRow.removed_at.is_(None),
        )
    )
    return {name: (read_at, basis) for name, read_at, basis in rows}


def save_credit_bases(
    session: Session,
    integration_id: int,
    bases: Mapping[str, str | None],
    *,
    now: dt.datetime,
) -> None:
    """Record that these subusers' credits were read now, with these figures."""
    if not bases:
        return
    # One executemany, not a statement per subuser.
    statement = (
        update(SubuserRow.__table__)  # type: ignore[arg-type]
        .where(
            SubuserRow.integration_id == integration_id,
            SubuserRow.username == bindparam("name"),
        )
        .values(credits_read_at=now, credits_basis=bindparam("basis"))
    )
    session.connection().execute(
        statement, [{"name": name, "basis": basis} for name, basis in bases.items()]
    )


def list_subusers(
    session: Session, integration_id: int, *, include_removed: bool = False
) -> list[Subuser]:
    query = (
        select(SubuserRow, ServiceAccountRow.removed_at)
        .outerjoin(
            ServiceAccountRow,
            ServiceAccountRow.id == SubuserRow.source_service_account_id,
        )
        .where(SubuserRow.integration_id == integration_id)
        .order_by(SubuserRow.username)
    )
    if not include_removed:
        query = query.where(SubuserRow.removed_at.is_(None))
    return [
        Subuser(
            username=row.username,
            sendgrid_id=row.sendgrid_id,
            email=row.email,
            disabled=row.disabled,
            region=row.region,
            credit_type=row.credit_type,
            credits_total=row.credits_total,
            credits_used=row.credits_used,
            credits_remain=row.credits_remain,
            reset_frequency=row.reset_frequency,
            first_seen=row.first_seen,
            last_seen=row.last_seen,
            removed_at=row.removed_at,
            source_service_account_id=row.source_service_account_id,
            source_removed=source_removed is not None,
            credits_read_at=row.credits_read_at,
        )
        for row, source_removed in session.execute(query)
    ]


def save_invoices(
    session: Session,
    integration_id: int,
    invoices: Iterable[Invoice],
    *,
    source_sa_id: int | None,
    now: dt.datetime,
) -> int:
    """Upsert by invoice id; never deletes, even when SendGrid stops listing one."""
    rows: list[dict[str, Any]] = [
        {
            "integration_id": integration_id,
            "invoice_id": invoice.invoice_id,
            "number": invoice.number,
            "date": invoice.date,
            "due_date": invoice.due_date,
            "period_start": invoice.period_start,
            "period_end": invoice.period_end,
            "amount": invoice.amount,
            "currency": invoice.currency,
            "status": invoice.status,
            "balance": invoice.balance,
            "source_service_account_id": source_sa_id,
            "first_seen": now,
            "synced_at": now,
        }
        for invoice in invoices
    ]
    columns = [c for c in rows[0] if c != "first_seen"] if rows else []
    return upsert(
        session,
        InvoiceRow,
        rows,
        keys=("integration_id", "invoice_id"),
        update=columns,
    )


def list_invoices(
    session: Session, integration_id: int, *, limit: int | None = None
) -> list[Invoice]:
    """Newest first (by date, then id)."""
    query = (
        select(InvoiceRow, ServiceAccountRow.removed_at)
        .outerjoin(
            ServiceAccountRow,
            ServiceAccountRow.id == InvoiceRow.source_service_account_id,
        )
        .where(InvoiceRow.integration_id == integration_id)
        .order_by(InvoiceRow.date.desc().nulls_last(), InvoiceRow.invoice_id.desc())
        .limit(limit)
    )
    return [
        Invoice(
            invoice_id=row.invoice_id,
            number=row.number,
            date=row.date,
            due_date=row.due_date,
            period_start=row.period_start,
            period_end=row.period_end,
            amount=row.amount,
            currency=row.currency,
            status=row.status,
            balance=row.balance,
            source_service_account_id=row.source_service_account_id,
            source_removed=source_removed is not None,
        )
        for row, source_removed in session.execute(query)
    ]
