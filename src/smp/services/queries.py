"""Reads the API, the web dashboard and the CLI assemble alike, written once."""

from __future__ import annotations

from collections.abc import Container, Iterable

from sqlalchemy.orm import Session

from smp.model import Member, MemberStatus
from smp.services.unreadable import Unreadable, among
from smp.storage import list_members, list_service_accounts


def invites_by_expiry(session: Session, integration_id: int) -> list[Member]:
    """Pending invites, soonest expiry first (those without one last)."""
    # sort="status" walks the (status, role) index; then soonest expiry first.
    found = list_members(
        session, integration_id, status=MemberStatus.PENDING, sort="status"
    )
    found.sort(key=lambda m: (m.invite_expires_at is None, m.invite_expires_at))
    return found


def unreadable_among(
    session: Session, integration_id: int, data: Iterable[str]
) -> list[Unreadable]:
    """Which of `data` (keys of `smp.services.unreadable.READS`) no connected
    key of the integration can read."""
    return among(list_service_accounts(session, integration_id), data)


def whole_account_known(unreadable: Container[str]) -> bool:
    """Whether the whole account's volume can be told, given the data no key
    reads: SendGrid counts the parent's own sends apart from its subusers', so
    the whole account is their sum, unknown while subusers' volume is unread."""
    return "subuser_volume" not in unreadable
