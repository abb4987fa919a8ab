"""An integration's baseline: the one event its first member listings make.

SendGrid says neither when a member joined nor when an invite was sent, so
the first listing of each kind (members, invites) makes no per-member events
(they would all carry the first sync's time): one `baseline` event records
how many SMP found instead.

Members and invites are two capabilities, written in two transactions, and
either can fail alone. The first of the two listings to be saved creates the
event with its count and leaves the other's count None, shown as "not read
yet". The other kind's first listing, in the same sync or a later one (when
its capability failed at first), fills its count into that same event and
makes no per-member events either: one baseline per integration, and no
burst of `invited` events for invites sent long before. The event keeps the
time of the first listing saved.

Integrations synced before baselines existed have members and no baseline:
their listings are not first, and they get no baseline event.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from smp.model import EventKind
from smp.storage.tables import MemberEventRow, MemberRow

Listing = Literal["members", "invites"]


def _baseline(session: Session, integration_id: int) -> MemberEventRow | None:
    return session.scalars(
        select(MemberEventRow).where(
            MemberEventRow.integration_id == integration_id,
            MemberEventRow.kind == str(EventKind.BASELINE),
        )
    ).first()


def first_listing(session: Session, integration_id: int, listing: Listing) -> bool:
    """Is this the integration's first saved listing of this kind?"""
    row = _baseline(session, integration_id)
    if row is None:
        any_member = select(MemberRow.id).where(
            MemberRow.integration_id == integration_id
        )
        return session.scalar(any_member.limit(1)) is None
    found = row.members_found if listing == "members" else row.invites_found
    return found is None


def record_baseline(
    session: Session,
    integration_id: int,
    listing: Listing,
    count: int,
    *,
    source_sa_id: int | None,
    now: dt.datetime,
    run_id: int | None,
) -> bool:
    """Count a first listing into the baseline; True if this created the event."""
    row = _baseline(session, integration_id)
    created = row is None
    if row is None:
        row = MemberEventRow(
            integration_id=integration_id,
            kind=str(EventKind.BASELINE),
            occurred_at=now,
            source_service_account_id=source_sa_id,
            sync_run_id=run_id,
        )
        session.add(row)
    if listing == "members":
        row.members_found = count
    else:
        row.invites_found = count
    session.flush()
    return created
