"""Company domains and manual links: what an admin tells SMP beyond the directory.

Both are keyed by their normalised form (`domain_key`, `email_key`), so
'ACME.com' and 'acme.com', or 'Zoë@x' and 'ZOË@x', are one row. The callers
normalise and validate; these functions only read and write rows, and never
commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from smp.model.people import MatchedBy, email_key
from smp.storage.tables import (
    AccountClassificationRow,
    AccountLinkRow,
    CompanyDomainRow,
)


@dataclass(frozen=True, slots=True)
class CompanyDomain:
    domain: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class AccountLink:
    email: str
    person_id: int
    created_by: str | None
    created_at: dt.datetime


def list_domains(session: Session) -> list[CompanyDomain]:
    rows = session.scalars(select(CompanyDomainRow).order_by(CompanyDomainRow.domain))
    return [CompanyDomain(row.domain, row.created_at) for row in rows]


def add_domain(session: Session, domain: str, now: dt.datetime) -> bool:
    """Add an already normalised domain; False when it was listed already."""
    if session.get(CompanyDomainRow, domain) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(CompanyDomainRow(domain=domain, created_at=now))
    except IntegrityError:  # added by someone else meanwhile: listed all the same
        return False
    return True


def remove_domain(session: Session, domain: str) -> bool:
    """Remove a normalised domain; False when it was not listed."""
    removed = session.execute(
        delete(CompanyDomainRow).where(CompanyDomainRow.domain == domain)
    )
    return bool(removed.rowcount)  # type: ignore[attr-defined]


def get_link(session: Session, email: str) -> AccountLink | None:
    row = session.get(AccountLinkRow, email_key(email))
    if row is None:
        return None
    return AccountLink(row.email, row.person_id, row.created_by, row.created_at)


def save_link(
    session: Session,
    email: str,
    person_id: int,
    *,
    created_by: str | None,
    now: dt.datetime,
) -> None:
    """Link the e-mail to the person, replacing any link it had."""
    key = email_key(email)
    values = {
        "email": email.strip(),
        "person_id": person_id,
        "created_by": created_by,
        "created_at": now,
    }
    row = session.get(AccountLinkRow, key)
    if row is None:
        try:
            with session.begin_nested():
                session.add(AccountLinkRow(email_key=key, **values))
            return
        except IntegrityError:  # linked by someone else meanwhile: replaced
            row = session.get(AccountLinkRow, key)
            if row is None:  # and unlinked again: nothing left to replace
                raise
    for name, value in values.items():
        setattr(row, name, value)
    session.flush()


def delete_link(session: Session, email: str) -> bool:
    """Remove the e-mail's link; False when it had none."""
    row = session.get(AccountLinkRow, email_key(email))
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def linked_accounts(session: Session, email: str, person_id: int) -> int:
    """Accounts SendGrid lists that this e-mail's manual link gives the person."""
    table = AccountClassificationRow
    query = select(table.email).where(
        table.person_id == person_id,
        table.matched_by == str(MatchedBy.MANUAL),
        table.present == True,  # noqa: E712 (SQL, not Python)
    )
    key = email_key(email)
    # The rows keep the e-mail as SendGrid gave it: compared in Python, as
    # keys (a person has few manual links, so few rows).
    return sum(1 for found in session.scalars(query) if email_key(found or "") == key)
