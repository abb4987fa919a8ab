"""The member diff rules documented in smp.model.members."""

from __future__ import annotations

import datetime as dt

import pytest

from smp.model import (
    EventKind,
    ListedInvite,
    ListedTeammate,
    MemberEvent,
    MemberState,
    MemberStatus,
    Role,
    SuspiciousListing,
    diff_active,
    diff_pending,
    member_key,
)

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(days=1)
T9 = T0 + dt.timedelta(days=9)


def apply(state: dict[str, MemberState], states: list[MemberState]) -> None:
    for item in states:
        state[item.key] = item


def kinds(events: list[MemberEvent]) -> list[tuple[EventKind, str]]:
    return [(e.kind, e.member_key) for e in events]


def test_member_key_lowercases_email_and_falls_back_to_username() -> None:
    assert member_key(" Jane@Corp.Example ") == "jane@corp.example"
    assert member_key(None, "JDoe") == "user:jdoe"
    with pytest.raises(ValueError):
        member_key(None, None)


def test_new_active_members_join_and_missing_ones_leave() -> None:
    stored: dict[str, MemberState] = {}
    first = diff_active(
        stored,
        [
            ListedTeammate("owner1", "Owner@corp.example", role=Role.OWNER),
            ListedTeammate("bob", "bob@corp.example"),
        ],
        T0,
    )
    assert kinds(first.events) == [
        (EventKind.JOINED, "owner@corp.example"),
        (EventKind.JOINED, "bob@corp.example"),
    ]
    apply(stored, first.states)
    assert stored["owner@corp.example"].first_seen == T0

    second = diff_active(
        stored, [ListedTeammate("owner1", "owner@corp.example", role=Role.OWNER)], T1
    )
    assert kinds(second.events) == [(EventKind.LEFT, "bob@corp.example")]
    apply(stored, second.states)
    bob = stored["bob@corp.example"]
    assert bob.status is MemberStatus.REMOVED
    assert bob.removed_at == T1
    assert stored["owner@corp.example"].first_seen == T0
    assert stored["owner@corp.example"].last_seen == T1

    # Nothing changed: no events, and removed members do not leave twice.
    third = diff_active(
        stored, [ListedTeammate("owner1", "owner@corp.example", role=Role.OWNER)], T9
    )
    assert third.events == []


def test_role_change_carries_old_and_new_role() -> None:
    stored: dict[str, MemberState] = {}
    apply(stored, diff_active(stored, [ListedTeammate("a", "a@x.example")], T0).states)
    promoted = ListedTeammate("a", "a@x.example", role=Role.ADMIN)
    diff = diff_active(stored, [promoted], T1)
    assert len(diff.events) == 1
    event = diff.events[0]
    assert event.kind is EventKind.ROLE_CHANGED
    assert (event.old_role, event.new_role) == (Role.USER, Role.ADMIN)


def test_accepted_invite_becomes_the_same_member_once() -> None:
    stored: dict[str, MemberState] = {}
    invite = ListedInvite("New@corp.example", expires_at=T0 + dt.timedelta(days=7))
    invited = diff_pending(stored, [invite], T0)
    assert kinds(invited.events) == [(EventKind.INVITED, "new@corp.example")]
    apply(stored, invited.states)
    assert stored["new@corp.example"].status is MemberStatus.PENDING

    # Accepted: gone from pending, present among teammates (either order works).
    accepted = diff_active(stored, [ListedTeammate("newbie", "new@corp.example")], T1)
    assert kinds(accepted.events) == [(EventKind.INVITE_ACCEPTED, "new@corp.example")]
    assert accepted.events[0].occurred_at == T1
    apply(stored, accepted.states)
    after = diff_pending(stored, [], T1)
    assert after.events == []
    assert after.states == []
    assert stored["new@corp.example"].first_seen == T0

    stored2: dict[str, MemberState] = {}
    apply(stored2, diff_pending(stored2, [invite], T0).states)
    apply(stored2, diff_pending(stored2, [], T1).states)
    # Revoked (removed), then listed as a teammate: a join, not an acceptance.
    rejoin = diff_active(stored2, [ListedTeammate("newbie", "new@corp.example")], T1)
    assert kinds(rejoin.events) == [(EventKind.JOINED, "new@corp.example")]


def test_expired_invite_is_reported_exactly_once_until_resent() -> None:
    stored: dict[str, MemberState] = {}
    invite = ListedInvite("late@x.example", is_admin=True, expires_at=T0)
    apply(stored, diff_pending(stored, [invite], T0 - dt.timedelta(days=6)).states)
    assert stored["late@x.example"].role is Role.ADMIN

    expired = diff_pending(stored, [invite], T1)
    assert kinds(expired.events) == [(EventKind.INVITE_EXPIRED, "late@x.example")]
    # Dated at the invite's own expiry, not at the sync that noticed it.
    assert expired.events[0].occurred_at == T0
    apply(stored, expired.states)
    assert diff_pending(stored, [invite], T9).events == []

    resent = ListedInvite("late@x.example", expires_at=T9 + dt.timedelta(days=7))
    apply(stored, diff_pending(stored, [resent], T9).states)
    later = T9 + dt.timedelta(days=8)
    again = diff_pending(stored, [resent], later)
    assert kinds(again.events) == [(EventKind.INVITE_EXPIRED, "late@x.example")]
    assert again.events[0].occurred_at == resent.expires_at


def test_invite_for_an_active_member_is_ignored() -> None:
    stored: dict[str, MemberState] = {}
    apply(stored, diff_active(stored, [ListedTeammate("a", "a@x.example")], T0).states)
    diff = diff_pending(stored, [ListedInvite("A@x.example")], T1)
    assert diff.events == []
    assert diff.states == []


def test_events_carry_the_source_they_are_given() -> None:
    stored: dict[str, MemberState] = {}
    joined = diff_active(stored, [ListedTeammate("a", "a@x.example")], T0, source=7)
    assert [(e.kind, e.source_service_account_id) for e in joined.events] == [
        (EventKind.JOINED, 7)
    ]
    apply(stored, joined.states)
    left = diff_active(stored, [ListedTeammate("c", "c@x.example")], T1, source=8)
    assert sorted((e.kind, e.source_service_account_id) for e in left.events) == [
        (EventKind.JOINED, 8),
        (EventKind.LEFT, 8),
    ]
    expired = ListedInvite("i@x.example", expires_at=T0)
    invited = diff_pending({}, [expired], T1, source=9)
    assert [(e.kind, e.source_service_account_id) for e in invited.events] == [
        (EventKind.INVITED, 9),
        (EventKind.INVITE_EXPIRED, 9),
    ]
    # Without a source, as before: None.
    assert diff_active({}, [ListedTeammate("b", None)], T0).events[0] == MemberEvent(
        kind=EventKind.JOINED,
        member_key="user:b",
        occurred_at=T0,
        username="b",
        new_role=Role.USER,
    )


def test_an_empty_or_ownerless_listing_after_a_real_one_is_refused() -> None:
    owner = ListedTeammate("boss", "boss@x.example", role=Role.OWNER)
    bob = ListedTeammate("bob", "bob@x.example")
    # A first listing has nothing to compare with: accepted as it is.
    assert diff_active({}, [], T0).states == []
    stored: dict[str, MemberState] = {}
    apply(stored, diff_active(stored, [owner, bob], T0).states)

    with pytest.raises(SuspiciousListing, match="came back empty; nothing was"):
        diff_active(stored, [], T1)
    with pytest.raises(SuspiciousListing, match="without the owner; nothing was"):
        diff_active(stored, [bob], T1)
    # A new owner (ownership moved) is an owner all the same.
    moved = ListedTeammate("bob", "bob@x.example", role=Role.OWNER)
    assert kinds(diff_active(stored, [moved], T1).events) == [
        (EventKind.ROLE_CHANGED, "bob@x.example"),
        (EventKind.LEFT, "boss@x.example"),
    ]


def test_a_listing_is_not_held_to_an_owner_it_never_had() -> None:
    stored: dict[str, MemberState] = {}
    apply(stored, diff_active(stored, [ListedTeammate("a", "a@x.example")], T0).states)
    other = diff_active(stored, [ListedTeammate("b", "b@x.example")], T1)
    assert sorted(kinds(other.events)) == [
        (EventKind.JOINED, "b@x.example"),
        (EventKind.LEFT, "a@x.example"),
    ]
