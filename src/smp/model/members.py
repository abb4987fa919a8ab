"""Member diffing: turn a complete SendGrid listing into new member states and events.

Rules (a member is identified by its lower-cased email; a teammate without an
email falls back to `user:<lower-cased username>`):

Active listing (`GET /v3/teammates`, complete):
- listed, and unknown / removed before -> active, `joined`;
- listed, and pending before -> active, `invite_accepted` (same email);
- listed, active before, different role -> `role_changed` with old and new role;
- active before and missing from the listing -> removed (removed_at = now), `left`.
- refused (`SuspiciousListing`, nothing changes) when members were active
  before and the listing is empty, or lacks the owner that was listed before:
  SendGrid always lists the account's owner, so such an answer is not the
  account's real membership, and applying it would remove everyone.

Pending listing (`GET /v3/teammates/pending`, complete):
- listed, and unknown / removed before -> pending, `invited`;
- listed while already active -> ignored (SendGrid may briefly list both);
- listed and past its `expiration_date` -> `invite_expired`, exactly once per
  expiry, dated at that expiration date (not when SMP noticed); a resent
  invite (a new, future expiry) can expire again later;
- pending before and missing from the listing -> removed without an event: it
  was either accepted (the active listing, read first, already made it active
  with `invite_accepted`) or revoked.

An integration's first listing of each kind makes no per-member events: SMP
cannot tell when those members joined, so the caller records one baseline
event instead (`smp.storage.baseline`).

Only call these with a *complete* listing: a partial one would remove members.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from smp.model.enums import EventKind, MemberStatus, Role
from smp.model.records import ListedInvite, ListedTeammate, MemberEvent


def member_key(email: str | None, username: str | None = None) -> str:
    """The identity of a member within one integration."""
    if email and email.strip():
        return email.strip().lower()
    if username and username.strip():
        return f"user:{username.strip().lower()}"
    raise ValueError("a member needs an email or a username")


@dataclass(frozen=True, slots=True)
class MemberState:
    """Everything storage keeps about one member, as the diff sees it."""

    key: str
    email: str | None
    username: str | None
    role: Role
    status: MemberStatus
    first_name: str | None = None
    last_name: str | None = None
    is_sso: bool | None = None
    invite_expires_at: dt.datetime | None = None
    expiry_reported: bool = False
    first_seen: dt.datetime | None = None
    last_seen: dt.datetime | None = None
    removed_at: dt.datetime | None = None


class SuspiciousListing(ValueError):
    """A complete teammates listing that cannot be the account's real one."""


@dataclass(slots=True)
class MemberDiff:
    """States to write (only the ones that changed or were seen) and events."""

    states: list[MemberState] = field(default_factory=list)
    events: list[MemberEvent] = field(default_factory=list)


def _event(
    kind: EventKind,
    state: MemberState,
    now: dt.datetime,
    *,
    old_role: Role | None = None,
    new_role: Role | None = None,
    source: int | None = None,
) -> MemberEvent:
    return MemberEvent(
        kind=kind,
        member_key=state.key,
        occurred_at=now,
        email=state.email,
        username=state.username,
        old_role=old_role,
        new_role=new_role,
        source_service_account_id=source,
    )


def diff_active(
    existing: Mapping[str, MemberState],
    listed: Iterable[ListedTeammate],
    now: dt.datetime,
    *,
    source: int | None = None,
) -> MemberDiff:
    """Apply a complete `GET /v3/teammates` listing to the stored members.

    The events carry `source` as their `source_service_account_id`.
    """
    diff = MemberDiff()
    seen: dict[str, ListedTeammate] = {}
    for teammate in listed:
        seen[member_key(teammate.email, teammate.username)] = teammate
    _refuse_suspicious(existing, seen.values())
    for key, teammate in seen.items():
        before = existing.get(key)
        state = MemberState(
            key=key,
            email=teammate.email or (before.email if before else None),
            username=teammate.username,
            role=teammate.role,
            status=MemberStatus.ACTIVE,
            first_name=teammate.first_name,
            last_name=teammate.last_name,
            is_sso=teammate.is_sso,
            first_seen=before.first_seen if before and before.first_seen else now,
            last_seen=now,
        )
        diff.states.append(state)
        if before is None or before.status is not MemberStatus.ACTIVE:
            accepted = before is not None and before.status is MemberStatus.PENDING
            kind = EventKind.INVITE_ACCEPTED if accepted else EventKind.JOINED
            diff.events.append(
                _event(kind, state, now, new_role=teammate.role, source=source)
            )
        elif before.role is not teammate.role:
            diff.events.append(
                _event(
                    EventKind.ROLE_CHANGED,
                    state,
                    now,
                    old_role=before.role,
                    new_role=teammate.role,
                    source=source,
                )
            )
    for key, before in existing.items():
        if before.status is MemberStatus.ACTIVE and key not in seen:
            gone = replace(before, status=MemberStatus.REMOVED, removed_at=now)
            diff.states.append(gone)
            diff.events.append(
                _event(EventKind.LEFT, gone, now, old_role=before.role, source=source)
            )
    return diff


def _refuse_suspicious(
    existing: Mapping[str, MemberState], listed: Iterable[ListedTeammate]
) -> None:
    active = [s for s in existing.values() if s.status is MemberStatus.ACTIVE]
    if not active:
        return  # nothing listed before: nothing to compare with
    roles = {teammate.role for teammate in listed}
    if not roles:
        raise SuspiciousListing(
            "teammates list came back empty; nothing was marked removed"
        )
    had_owner = any(s.role is Role.OWNER for s in active)
    if had_owner and Role.OWNER not in roles:
        raise SuspiciousListing(
            "teammates list came back without the owner; nothing was marked removed"
        )


def _expired(expires_at: dt.datetime | None, now: dt.datetime) -> bool:
    return expires_at is not None and expires_at <= now


def diff_pending(
    existing: Mapping[str, MemberState],
    listed: Iterable[ListedInvite],
    now: dt.datetime,
    *,
    source: int | None = None,
) -> MemberDiff:
    """Apply a complete `GET /v3/teammates/pending` listing to the stored members.

    The events carry `source` as their `source_service_account_id`.
    """
    diff = MemberDiff()
    seen: dict[str, ListedInvite] = {}
    for invite in listed:
        seen[member_key(invite.email)] = invite
    for key, invite in seen.items():
        before = existing.get(key)
        if before is not None and before.status is MemberStatus.ACTIVE:
            continue
        was_pending = before is not None and before.status is MemberStatus.PENDING
        reported = False
        if was_pending and before is not None:
            resent = invite.expires_at != before.invite_expires_at and not _expired(
                invite.expires_at, now
            )
            reported = before.expiry_reported and not resent
        state = MemberState(
            key=key,
            email=invite.email,
            username=before.username if before else None,
            role=Role.ADMIN if invite.is_admin else Role.USER,
            status=MemberStatus.PENDING,
            first_name=before.first_name if before else None,
            last_name=before.last_name if before else None,
            is_sso=before.is_sso if before else None,
            invite_expires_at=invite.expires_at,
            expiry_reported=reported,
            first_seen=before.first_seen if before and before.first_seen else now,
            last_seen=now,
        )
        if not was_pending:
            diff.events.append(
                _event(
                    EventKind.INVITED, state, now, new_role=state.role, source=source
                )
            )
        if _expired(invite.expires_at, now) and not reported:
            state = replace(state, expiry_reported=True)
            # _expired: expires_at is set and in the past, the real moment.
            expired_at = invite.expires_at or now
            diff.events.append(
                _event(EventKind.INVITE_EXPIRED, state, expired_at, source=source)
            )
        diff.states.append(state)
    for key, before in existing.items():
        if before.status is MemberStatus.PENDING and key not in seen:
            diff.states.append(
                replace(before, status=MemberStatus.REMOVED, removed_at=now)
            )
    return diff
