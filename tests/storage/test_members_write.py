"""The members write's shortcuts store exactly what the plain write stores.

- `search_text` equals its plain definition (longest first, then alphabetical,
  fields inside a longer one left out);
- a member listed again unchanged is only touched (last_seen, source, run),
  and the database ends up as if every member had been upserted again;
- event member ids come from the loaded rows and the new rows' id range, and
  fall back to a lookup by key.
"""

from __future__ import annotations

import datetime as dt
import importlib
import random
import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from smp.model import (
    EventKind,
    KeyKind,
    KeyStatus,
    ListedInvite,
    ListedTeammate,
    MemberEvent,
    Role,
)
from smp.storage import (
    add_service_account,
    create_integration,
    save_invites,
    save_members,
    session_factory,
    start_sync_run,
)
from smp.storage.search import SEPARATOR, search_text

members_module = importlib.import_module("smp.storage.members")

T0 = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(hours=1)
T2 = T0 + dt.timedelta(hours=2)
LATER = T0 + dt.timedelta(days=30)


def _plain_search_text(*fields: str | None) -> str:
    """The definition, written the obvious way (the code before the rewrite)."""
    kept: list[str] = []
    unique = {(f or "").casefold() for f in fields}
    for folded in sorted(unique, key=lambda f: (-len(f), f)):
        if folded and not any(folded in longer for longer in kept):
            kept.append(folded)
    return SEPARATOR.join(kept)


def test_search_text_examples() -> None:
    assert search_text("ann@x.example", "ann", "Ann", None) == "ann@x.example"
    assert search_text("j@x.example", "jm", "Jürgen", "Müller") == SEPARATOR.join(
        ["j@x.example", "jürgen", "müller", "jm"]
    )
    # Same length: alphabetical; equal after casefolding: once.
    assert search_text("k", "bb", "AA", "aa") == SEPARATOR.join(["aa", "bb", "k"])
    assert search_text("user:x", None, "", None) == "user:x"
    assert search_text(None, None, None, None) == ""
    assert search_text("Straße", "STRASSE", None, None) == "strasse"


def test_search_text_equals_its_plain_definition() -> None:
    rng = random.Random(2026)
    alphabet = "abAB.@ßSsẞİiσΣς"
    for _ in range(20_000):
        fields = [
            None
            if rng.random() < 0.15
            else "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 5)))
            for _ in range(4)
        ]
        assert search_text(*fields) == _plain_search_text(*fields), fields


def _service_account(session: Session, iid: int) -> int:
    return add_service_account(
        session,
        iid,
        label="main",
        kind=KeyKind.FULL,
        scopes=["teammates.read"],
        capabilities=["members", "invites"],
        missing={},
        key_id=str(iid).rjust(22, "m"),  # a key is stored in one integration only
        encrypted_secret="token",
        status=KeyStatus.OK,
    ).id


def _team(step: int) -> list[ListedTeammate]:
    team = [
        ListedTeammate(f"user{i}", f"User{i}@x.example", "Ann", f"Lee{i}")
        for i in range(8)
    ]
    team.append(ListedTeammate("owner", "owner@x.example", role=Role.OWNER))
    team.append(ListedTeammate("nomail", None, "No", "Mail", is_sso=True))
    if step >= 1:
        team[1] = ListedTeammate("user1", "User1@x.example", "Ann", "Lee1", Role.ADMIN)
        team[2] = ListedTeammate("renamed", "user2@x.example", "Ann", "Lee2")
        team[3] = ListedTeammate("user3", "USER3@x.example", "Ann", "Lee3")
        team[4] = ListedTeammate("user4", "User4@x.example", "A", "L4", is_sso=False)
        del team[5]  # leaves
        team.append(ListedTeammate("accepted", "invited@x.example"))
    if step >= 2:
        team.append(ListedTeammate("user5", "User5@x.example", "Ann", "Lee5"))
    return team


def _invites(step: int) -> list[ListedInvite]:
    invites = [
        ListedInvite("keep@x.example", expires_at=LATER),
        ListedInvite("expires@x.example", expires_at=T1, token="t"),
    ]
    if step == 0:
        invites.append(ListedInvite("invited@x.example", is_admin=True))
    if step == 2:
        invites.append(ListedInvite("resent@x.example", expires_at=LATER))
    return invites


def _sync(engine: Engine) -> tuple[list[Any], list[Any], list[Any]]:
    """Three syncs with changes between them; the stored members and events."""
    factory = session_factory(engine)
    returned: list[MemberEvent] = []
    with factory.begin() as session:
        iid = create_integration(session, f"write {uuid.uuid4().hex[:8]}").id
        source = _service_account(session, iid)
    for step, now in enumerate((T0, T1, T2)):
        with factory.begin() as session:
            run_id = start_sync_run(session, iid, "test", now=now)
            returned += save_members(
                session, iid, _team(step), source_sa_id=source, now=now, run_id=run_id
            )
            invites = _invites(step)
            returned += save_invites(
                session, iid, invites, source_sa_id=source, now=now, run_id=run_id
            )
    with factory() as session:
        # Raw driver values: what the database holds. Ids and the run ids
        # differ between two databases' worth of runs, so they become ranks.
        members = session.execute(
            text(
                "SELECT m.member_key, m.email, m.username, m.first_name, m.last_name,"
                " m.search_text, m.role, m.status, m.is_sso, m.invite_expires_at,"
                " m.expiry_reported, m.first_seen, m.last_seen, m.removed_at,"
                " m.source_service_account_id IS NOT NULL,"
                " (SELECT count(*) FROM sync_runs r WHERE r.integration_id = :iid"
                "  AND r.id <= m.sync_run_id)"
                " FROM members m WHERE m.integration_id = :iid ORDER BY m.member_key"
            ),
            {"iid": iid},
        )
        events = session.execute(
            text(
                "SELECT e.kind, e.member_key, m.member_key, e.email, e.username,"
                " e.old_role, e.new_role, e.occurred_at"
                " FROM member_events e JOIN members m ON m.id = e.member_id"
                " WHERE e.integration_id = :iid ORDER BY e.id"
            ),
            {"iid": iid},
        )
        # The returned events, with whether each carries this source.
        answers = [
            (
                *(e.kind, e.member_key, e.email, e.username, e.old_role, e.new_role),
                *(e.id, e.occurred_at, e.source_service_account_id == source),
            )
            for e in returned
        ]
        return [tuple(r) for r in members], [tuple(r) for r in events], answers


def test_unchanged_members_are_touched_and_stored_as_if_upserted(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    touched: list[int] = []
    touch = members_module._touch

    def counting(session: Session, ids: list[int], **kw: Any) -> None:
        touched.append(len(ids))
        touch(session, ids, **kw)

    monkeypatch.setattr(members_module, "_touch", counting)
    fast = _sync(engine)
    # Sync 2: 5 of 10 listed members unchanged (user0, 6, 7, owner, nomail),
    # 1 invite (keep); sync 3: all but the returning user5 and the new invite.
    assert touched == [5, 1, 10, 2]
    monkeypatch.setattr(members_module, "_unchanged", lambda *_: False)
    plain = _sync(engine)
    assert fast == plain

    members, events, returned = fast
    by_key = {row[0]: row for row in members}
    # Touched in sync 3: last_seen and the run moved on, first_seen stayed.
    user0 = by_key["user0@x.example"]
    assert user0[1:3] == ("User0@x.example", "user0")
    assert user0[5] == SEPARATOR.join(["user0@x.example", "lee0", "ann"])
    assert (user0[7], user0[14], user0[15]) == ("active", True, 3)
    assert [_instant(user0[i]) for i in (11, 12)] == [T0, T2]
    assert by_key["user2@x.example"][5] == SEPARATOR.join(
        ["user2@x.example", "renamed", "lee2", "ann"]
    )
    keep = by_key["keep@x.example"]
    assert (keep[7], keep[15], _instant(keep[12])) == ("pending", 3, T2)
    assert (by_key["user5@x.example"][7], by_key["user5@x.example"][13]) == (
        "active",
        None,
    )
    kinds = [(row[0], row[1]) for row in events]
    assert kinds.count(("joined", "user5@x.example")) == 2
    assert ("role_changed", "user1@x.example") in kinds
    assert ("left", "user5@x.example") in kinds
    assert ("invite_expired", "expires@x.example") in kinds
    assert all(row[1] == row[2] for row in events)  # each on its own member
    assert [answer[:2] for answer in returned] == [r[:2] for r in events]
    assert {(a[6], a[8]) for a in returned} == {(None, True)}


def _instant(value: Any) -> dt.datetime:
    """A raw stored timestamp (text on SQLite) as an aware UTC datetime."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def test_event_member_ids_fall_back_to_a_lookup_by_key(engine: Engine) -> None:
    with session_factory(engine).begin() as session:
        iid = create_integration(session, f"ids {uuid.uuid4().hex[:8]}").id
        team = [ListedTeammate(f"u{i}", f"u{i}@x.example") for i in range(3)]
        events = save_members(session, iid, team, source_sa_id=None, now=T0)
        assert [e.kind for e in events] == [EventKind.JOINED] * 3
        expected = dict(
            session.execute(
                text("SELECT member_key, id FROM members WHERE integration_id = :i"),
                {"i": iid},
            ).all()
        )
        nothing = members_module._Stored({}, {})
        # Neither loaded nor known to be new (no `newest`): looked up by key.
        ids = members_module._event_member_ids(session, iid, events, nothing, None)
        assert ids == [expected[e.member_key] for e in events]
        # Above `newest`: found by the range query.
        ids = members_module._event_member_ids(session, iid, events, nothing, 0)
        assert ids == [expected[e.member_key] for e in events]
        # Loaded: no query needed.
        loaded = members_module._load(session, iid, None)
        assert members_module._event_member_ids(session, iid, events, loaded, None) == [
            expected[e.member_key] for e in events
        ]
