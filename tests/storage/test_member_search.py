"""Member search equals a plain Python filter over the stored members, on both dialects.

The reference: `needle.strip().casefold()` is a substring of the casefolded member
key, username, first or last name. Results are compared in order, so the search
paths (trigram index, row scan, bounded count with a walk) all sort the same way.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from smp.model import (
    Integration,
    ListedInvite,
    ListedTeammate,
    Member,
    MemberStatus,
    Role,
    member_key,
)
from smp.storage import (
    count_members,
    delete_integration,
    list_members,
    page_members,
    save_invites,
    save_members,
    session_factory,
)
from smp.storage.search import FTS_TABLE

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(days=1)

PEOPLE = [
    ("anna.smith", "anna.smith@example.com", "Anna", "Smith"),
    ("ANNA2", "Anna.Jones@Example.COM", "ANNA", "Jones"),
    ("b_jorn", "bjorn_50%@x.example", "Bjørn", "Ødegård"),
    ("percent", "p%q@x.example", "100%", "Sure_Thing"),
    ("back", "back\\slash@x.example", "Back\\Slash", "O'Brien"),
    ("strasse", "strasse@x.example", "Straße", "Groß"),
    ("greek", "odysseus@x.example", "ΟΔΥΣΣΕΥΣ", "Σίσυφος"),
    ("turk", "istanbul@x.example", "İlkay", "Işık"),
    ("arabic", "salma@x.example", "سلمى", "الحسيني"),
    ("hebrew", "noa@x.example", "נועה", "כהן"),
    ("cjk", "wang@x.example", "王", "小明"),
    ("emoji", "party@x.example", "🎉Party", "Time🎉"),
    ("inject", "robert@x.example", "Robert'); DROP TABLE members;--", '"x" OR 1=1'),
    ("quote", "quote@x.example", 'say "hi"', "a*b?c[d]"),
    ("nameless", None, None, None),
    ("zoe", "zoe@x.example", None, "Zoë"),
]

NEEDLES = [
    "a",
    "A",
    "é",
    "ø",
    "an",
    "AN",
    "ss",
    "ß",
    "σ",
    "ς",
    "ΟΔΥΣ",
    "Σίσυ",
    "ي",
    "الحس",
    "נו",
    "כהן",
    "王",
    "小明",
    "🎉",
    "🎉p",
    "%",
    "_",
    "%q",
    "50%",
    "n_5",
    "\\",
    "\\s",
    "k\\sl",
    "'",
    "o'b",
    '"',
    '"hi"',
    "'); drop table members;--",
    '" or 1=1',
    "' OR '1'='1",
    "*",
    "a*b?c[d]",
    "[d]",
    "example.com",
    "EXAMPLE",
    "smith",
    "  smith  ",
    "user:",
    "user:nameless",
    "@",
    "x.example",
    "nope",
    "zz",
    "İ",
    "ık",
    "zoë",
]


def _reference(members: list[Member], needle: str) -> list[Member]:
    wanted = needle.strip().casefold()

    def hit(m: Member) -> bool:
        fields = [member_key(m.email, m.username), m.username, m.first_name]
        return any(wanted in (f or "").casefold() for f in [*fields, m.last_name])

    return [m for m in members if hit(m)]


def _teammates(people: list[tuple[str, str | None, str | None, str | None]]) -> list:
    return [
        ListedTeammate(
            user, email, first, last, role=Role.ADMIN if i % 4 else Role.USER
        )
        for i, (user, email, first, last) in enumerate(people)
    ]


@pytest.fixture
def people(engine: Engine, new_integration: Integration) -> int:
    with session_factory(engine).begin() as session:
        save_members(
            session,
            new_integration.id,
            _teammates(PEOPLE),
            source_sa_id=None,
            now=T0,
        )
        save_invites(
            session,
            new_integration.id,
            [
                ListedInvite("Invitée@X.example"),
                ListedInvite("smith.pending@x.example"),
            ],
            source_sa_id=None,
            now=T0,
        )
    return new_integration.id


def _keys(members: list[Member]) -> list[str]:
    return [member_key(m.email, m.username) for m in members]


def test_search_equals_the_python_filter(session: Session, people: int) -> None:
    everyone = list_members(session, people)
    assert len(everyone) == len(PEOPLE) + 2
    for needle in NEEDLES:
        expected = _keys(_reference(everyone, needle))
        found = list_members(session, people, search=needle)
        assert _keys(found) == expected, needle
        assert count_members(session, people, search=needle) == len(expected), needle
        page = page_members(session, people, search=needle, limit=3, offset=1)
        assert (page.total, page.total_exact) == (len(expected), True), needle
        assert _keys(page.items) == expected[1:4], needle
    # The reference itself, on a few needles: wildcards are plain characters.
    assert {n: _keys(_reference(everyone, n)) for n in ("ß", "_", "\\s", "ς")} == {
        "ß": ["odysseus@x.example", "strasse@x.example", "user:nameless"],
        "_": ["bjorn_50%@x.example", "p%q@x.example"],
        "\\s": ["back\\slash@x.example"],
        "ς": ["odysseus@x.example"],
    }


def test_the_field_separator_matches_nothing(session: Session, people: int) -> None:
    assert list_members(session, people, search="smith\x1fanna") == []
    assert count_members(session, people, search="com\x1fanna") == 0


def test_filters_and_sorts_combine_with_search(session: Session, people: int) -> None:
    for status in (MemberStatus.ACTIVE, MemberStatus.PENDING):
        for role in (Role.ADMIN, Role.USER, None):
            for sort in ("email", "-last_name", "username", "-first_seen"):
                everyone = list_members(
                    session, people, status=status, role=role, sort=sort
                )
                for needle in ("smith", "a", "x.example", "ık", "%"):
                    found = list_members(
                        session,
                        people,
                        status=status,
                        role=role,
                        search=needle,
                        sort=sort,
                    )
                    assert _keys(found) == _keys(_reference(everyone, needle))


def test_a_bounded_count_walks_the_sort_order(session: Session, people: int) -> None:
    everyone = list_members(session, people, sort="-username")
    for needle in ("a", "an", "x.example", "example"):
        expected = _keys(_reference(everyone, needle))
        assert len(expected) > 3, needle
        page = page_members(
            session, people, search=needle, sort="-username", limit=2, count_limit=3
        )
        assert (page.total, page.total_exact) == (3, False), needle
        assert _keys(page.items) == expected[:2], needle
        deeper = page_members(
            session, people, search=needle, sort="-username", offset=2, count_limit=3
        )
        assert _keys(deeper.items) == expected[2:], needle


def test_the_index_follows_later_syncs(
    engine: Engine, session: Session, people: int
) -> None:
    renamed = [
        (u, e, "Bear", "Überlänge") if u == "b_jorn" else (u, e, f, ln)
        for u, e, f, ln in PEOPLE
        if u not in {"arabic", "cjk"}
    ]
    with session_factory(engine).begin() as writer:
        save_members(writer, people, _teammates(renamed), source_sa_id=None, now=T1)
    session.expire_all()
    everyone = list_members(session, people)
    by_key = {member_key(m.email, m.username): m for m in everyone}
    assert by_key["salma@x.example"].status is MemberStatus.REMOVED
    assert by_key["bjorn_50%@x.example"].first_name == "Bear"
    for needle in ("überl", "bear", "ÜBERLÄNGE", "bjø", "ødeg", "سلمى", "王", "a"):
        expected = _keys(_reference(everyone, needle))
        assert _keys(list_members(session, people, search=needle)) == expected, needle
    # The old names are gone from the index; removed members stay searchable.
    assert list_members(session, people, search="ødegård") == []
    assert _keys(list_members(session, people, search="bear")) == [
        "bjorn_50%@x.example"
    ]
    removed = list_members(session, people, status=MemberStatus.REMOVED, search="سلمى")
    assert _keys(removed) == ["salma@x.example"]
    _check_index(session)


def test_members_who_join_later_are_indexed(
    engine: Engine, session: Session, people: int
) -> None:
    joiners = [("newcomer", "newcomer@late.example", "Late", "Arrivée")]
    with session_factory(engine).begin() as writer:
        save_members(
            writer, people, _teammates(PEOPLE + joiners), source_sa_id=None, now=T1
        )
        save_invites(
            writer,
            people,
            [ListedInvite("Invitée@X.example"), ListedInvite("second.wave@x.example")],
            source_sa_id=None,
            now=T1,
        )
    session.expire_all()
    everyone = list_members(session, people)
    for needle in ("arriv", "late.ex", "second.wave", "invitée", "example"):
        expected = _keys(_reference(everyone, needle))
        assert expected, needle
        assert _keys(list_members(session, people, search=needle)) == expected, needle
    _check_index(session)


def test_deleting_an_integration_empties_its_index(engine: Engine, people: int) -> None:
    with session_factory(engine).begin() as session:
        delete_integration(session, people)
    with session_factory(engine)() as session:
        assert list_members(session, people, search="example") == []
        _check_index(session)


def _check_index(session: Session) -> None:
    """SQLite: the FTS index equals members.search_text (rank 1: check the content)."""
    if session.get_bind().dialect.name == "sqlite":
        check = f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rank) VALUES (:c, 1)"
        session.execute(text(check), {"c": "integrity-check"})
