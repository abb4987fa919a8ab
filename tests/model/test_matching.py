"""Matching an account e-mail to a person, and the offboarding lag: the pure rules.

Expected values are written by hand from docs/people.md, never computed with
the normalisation under test.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from tests.support.months import edge_days, real_today

from smp.model.matching import Claimant, Match, MatchIndex, offboarding_lag_s
from smp.model.people import Classification, MatchedBy, PersonStatus, PersonType

ACTIVE, LEAVE = PersonStatus.ACTIVE, PersonStatus.LEAVE
TERMINATED, GONE = PersonStatus.TERMINATED, PersonStatus.GONE


def person(
    person_id: int,
    email: str,
    *aliases: str,
    status: PersonStatus = ACTIVE,
    kind: PersonType = PersonType.EMPLOYEE,
    end_date: dt.date | None = None,
    terminated_at: dt.datetime | None = None,
) -> Claimant:
    return Claimant(
        person_id, email, status, kind, aliases, end_date, terminated_at
    )  # fmt: skip


def index(
    *people: Claimant,
    links: dict[str, int] | None = None,
    domains: tuple[str, ...] = ("acme.com",),
) -> MatchIndex:
    return MatchIndex(people, links or {}, domains)


EMPLOYEE = Classification.EMPLOYEE


@pytest.mark.parametrize(
    ("directory", "account"),
    [
        # Full-width letters (NFKC folds them to ASCII).
        ("ａｌｉｃｅ@ａｃｍｅ.com", "alice@acme.com"),
        ("alice@acme.com", "ＡＬＩＣＥ@acme.com"),
        # German sharp s: casefold makes it "ss", lower() would not.
        ("strauß@acme.com", "STRAUSS@acme.com"),
        ("STRAUSS@acme.com", "strauß@acme.com"),
        # Capital dotted I casefolds to i + combining dot, on both sides alike.
        ("İlker@acme.com", "i\u0307lker@acme.com"),
        # Surrounding spaces and mixed case.
        ("  Bob.Smith@ACME.com ", "bob.smith@acme.com"),
        # The ligature "ﬁ" is "fi" under NFKC.
        ("ﬁona@acme.com", "fiona@acme.com"),
    ],
)
def test_both_sides_compare_after_nfkc_and_casefolding(
    directory: str, account: str
) -> None:
    found = index(person(7, directory)).classify(account)
    assert found == Match(7, MatchedBy.EMAIL, EMPLOYEE)


@pytest.mark.parametrize(
    ("directory", "account"),
    [
        # Dotless ı is its own letter: casefold keeps it, so it is not "i".
        ("ılker@acme.com", "ilker@acme.com"),
        # Capital dotted İ is not plain I either (it keeps its dot).
        ("İlker@acme.com", "ilker@acme.com"),
        ("alice@acme.com", "alice@acme.co"),
    ],
)
def test_different_letters_stay_different(directory: str, account: str) -> None:
    # Unmatched on the company domain (or not): never the person.
    assert index(person(7, directory)).classify(account).person_id is None


def test_an_alias_matches_by_alias() -> None:
    found = index(person(3, "ana@acme.com", "Ana.Old@ACME.com")).classify(
        "ana.old@acme.com"
    )
    assert found == Match(3, MatchedBy.ALIAS, EMPLOYEE)


def test_an_alias_equal_to_ones_own_email_is_no_ambiguity() -> None:
    found = index(person(3, "ana@acme.com", "ANA@acme.com")).classify("ana@acme.com")
    assert found == Match(3, MatchedBy.EMAIL, EMPLOYEE)


def test_an_alias_that_is_another_persons_email_is_ambiguous_naming_both() -> None:
    found = index(
        person(4, "shared@acme.com"), person(9, "zed@acme.com", "Shared@acme.com")
    ).classify("shared@acme.com")
    assert found.classification is Classification.AMBIGUOUS
    assert found.person_id is None
    assert found.matched_by is None
    assert found.ambiguity == "claimed by people 4 (primary e-mail), 9 (alias)"


def test_one_email_in_two_sources_is_ambiguous() -> None:
    found = index(person(12, "dup@acme.com"), person(5, "DUP@acme.com")).classify(
        "dup@acme.com"
    )
    assert found.classification is Classification.AMBIGUOUS
    assert (
        found.ambiguity == "claimed by people 5 (primary e-mail), 12 (primary e-mail)"
    )


def test_two_peoples_aliases_are_ambiguous() -> None:
    found = index(
        person(1, "a@acme.com", "team@acme.com"),
        person(2, "b@acme.com", "team@acme.com"),
    ).classify("team@acme.com")
    assert found.ambiguity == "claimed by people 1 (alias), 2 (alias)"


def test_a_manual_link_overrides_an_ambiguity_and_an_email_match() -> None:
    people = (person(4, "shared@acme.com"), person(9, "z@acme.com", "shared@acme.com"))
    linked = index(*people, links={"SHARED@acme.com": 9})
    assert linked.classify("shared@acme.com") == Match(9, MatchedBy.MANUAL, EMPLOYEE)
    # A link to someone else than the e-mail's owner wins as well.
    other = index(
        person(4, "x@acme.com"), person(5, "y@acme.com"), links={"x@acme.com": 5}
    )
    assert other.classify("X@acme.com") == Match(5, MatchedBy.MANUAL, EMPLOYEE)


def test_a_link_to_a_leaver_makes_a_leaver() -> None:
    found = index(
        person(6, "old@acme.com", status=GONE), links={"desk@acme.com": 6}
    ).classify("desk@acme.com")
    assert found == Match(6, MatchedBy.MANUAL, Classification.LEAVER)


def test_gone_people_yield_to_people_still_in_a_source() -> None:
    # The directory moved from a file to SCIM: the file's record is gone.
    moved = index(person(1, "eve@acme.com", status=GONE), person(2, "eve@acme.com"))
    assert moved.classify("eve@acme.com") == Match(2, MatchedBy.EMAIL, EMPLOYEE)
    alone = index(person(1, "eve@acme.com", status=GONE))
    assert alone.classify("eve@acme.com") == Match(
        1, MatchedBy.EMAIL, Classification.LEAVER
    )
    both_gone = index(
        person(1, "eve@acme.com", status=GONE), person(2, "eve@acme.com", status=GONE)
    )
    assert both_gone.classify("eve@acme.com").classification is (
        Classification.AMBIGUOUS
    )


@pytest.mark.parametrize(
    ("status", "kind", "expected"),
    [
        (ACTIVE, PersonType.EMPLOYEE, Classification.EMPLOYEE),
        (LEAVE, PersonType.EMPLOYEE, Classification.EMPLOYEE),
        (ACTIVE, PersonType.CONTRACTOR, Classification.CONTRACTOR),
        (LEAVE, PersonType.PARTNER, Classification.PARTNER),
        (ACTIVE, PersonType.SERVICE, Classification.SERVICE),
        (TERMINATED, PersonType.CONTRACTOR, Classification.LEAVER),
        (GONE, PersonType.SERVICE, Classification.LEAVER),
    ],
)
def test_a_matched_account_takes_the_persons_type_unless_they_left(
    status: PersonStatus, kind: PersonType, expected: Classification
) -> None:
    found = index(person(1, "p@acme.com", status=status, kind=kind)).classify(
        "p@acme.com"
    )
    assert found.classification is expected


@pytest.mark.parametrize(
    ("domains", "account", "expected"),
    [
        (("ACME.com",), "nobody@acme.COM", Classification.UNKNOWN_INTERNAL),
        (("@acme.com",), "nobody@acme.com", Classification.UNKNOWN_INTERNAL),
        (("acme.com.",), "nobody@acme.com", Classification.UNKNOWN_INTERNAL),
        (("acme.com",), "ops@eu.mail.acme.com", Classification.UNKNOWN_INTERNAL),
        (("acme.com",), "nobody@notacme.com", Classification.EXTERNAL),
        (("acme.com",), "nobody@acme.com.evil.io", Classification.EXTERNAL),
        (("ａｃｍｅ.com",), "nobody@acme.com", Classification.UNKNOWN_INTERNAL),
        ((), "nobody@acme.com", Classification.EXTERNAL),
    ],
)
def test_an_unmatched_account_is_internal_only_on_a_company_domain(
    domains: tuple[str, ...], account: str, expected: Classification
) -> None:
    found = index(person(1, "p@acme.com"), domains=domains).classify(account)
    assert found == Match(None, None, expected)


@pytest.mark.parametrize("email", [None, "", "   "])
def test_an_account_without_an_email_is_external(email: str | None) -> None:
    assert index().classify(email) == Match(None, None, Classification.EXTERNAL)


# --- the offboarding lag --------------------------------------------------------


def left(
    end_date: dt.date | None = None, terminated_at: dt.datetime | None = None
) -> Claimant:
    return person(
        1,
        "p@acme.com",
        status=TERMINATED,
        end_date=end_date,
        terminated_at=terminated_at,
    )


@pytest.mark.parametrize(
    ("end_date", "removed_at", "seconds"),
    [
        # A leap day: from 29 February 00:00 UTC.
        (dt.date(2028, 2, 29), dt.datetime(2028, 3, 1, 6, tzinfo=dt.UTC), 30 * 3600),
        # Over the year's end.
        (
            dt.date(2026, 12, 31),
            dt.datetime(2027, 1, 1, 0, 0, 1, tzinfo=dt.UTC),
            86_401,
        ),
        # Removed in Berlin the night clocks went back: 02:30 CET is 01:30 UTC.
        (
            dt.date(2026, 10, 24),
            dt.datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Berlin")),
            86_400 + 5_400,
        ),
        # Removed on the last day itself, before it began in UTC: never negative.
        (dt.date(2026, 5, 10), dt.datetime(2026, 5, 9, 23, 59, tzinfo=dt.UTC), 0),
    ],
)
def test_the_lag_runs_from_the_end_date_at_midnight_utc(
    end_date: dt.date, removed_at: dt.datetime, seconds: int
) -> None:
    learnt = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)  # ignored: the end date wins
    lag = offboarding_lag_s(
        left(end_date, learnt), was_leaver=True, removed_at=removed_at
    )
    assert lag == seconds


@pytest.mark.parametrize("day", edge_days())
def test_the_lag_from_an_end_date_on_any_day(day: dt.date) -> None:
    # Removed the next day at 06:00 UTC: 30 hours after the end date began.
    removed = dt.datetime(day.year, day.month, day.day, 6, tzinfo=dt.UTC)
    removed += dt.timedelta(days=1)
    assert offboarding_lag_s(left(day), was_leaver=True, removed_at=removed) == 108_000


def test_without_an_end_date_the_lag_runs_from_when_smp_learnt_of_it() -> None:
    today = real_today()
    learnt = dt.datetime.combine(today, dt.time(9, 15), tzinfo=dt.UTC)
    removed = learnt + dt.timedelta(days=3, minutes=1)
    lag = offboarding_lag_s(
        left(terminated_at=learnt), was_leaver=True, removed_at=removed
    )
    assert lag == 3 * 86_400 + 60


def test_no_lag_without_a_termination_or_for_someone_still_there() -> None:
    removed = dt.datetime.combine(real_today(), dt.time(), tzinfo=dt.UTC)
    assert offboarding_lag_s(left(), was_leaver=True, removed_at=removed) is None
    active = person(1, "p@acme.com", end_date=dt.date(2020, 1, 1))
    assert offboarding_lag_s(active, was_leaver=False, removed_at=removed) is None
    assert offboarding_lag_s(None, was_leaver=True, removed_at=removed) is None


def test_a_person_who_left_after_the_last_classification_still_gets_a_lag() -> None:
    # The account was classified before the termination reached SMP.
    learnt = dt.datetime(2026, 3, 1, 8, tzinfo=dt.UTC)
    removed = learnt + dt.timedelta(hours=5)
    lag = offboarding_lag_s(
        left(terminated_at=learnt), was_leaver=False, removed_at=removed
    )
    assert lag == 5 * 3600
