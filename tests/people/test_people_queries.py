"""Reading the directory (smp.services.people) on SQLite and PostgreSQL.

The rows are written straight into the tables (tests/support/people_rows.py):
every expected value below is the seed's, not the code's.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tests.support.people_rows import MEDIAN_LAG, Seeded, person_row, seed_directory

from smp.model.people import Classification, PersonStatus
from smp.services import people
from smp.services.refusals import Refused

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def seeded(engine: Engine) -> Seeded:
    return seed_directory(engine, NOW)


def _emails(page: people.PeoplePage) -> list[str]:
    return [p.email for p in page.items]


def test_people_come_by_email_and_filter_by_status(
    engine: Engine, seeded: Seeded
) -> None:
    everyone = people.list_people(engine)
    assert _emails(everyone) == [
        "Ada.Lovelace@acme.test",
        "bob@acme.test",
        "gus@acme.test",
        "lea@partner.test",
        "zoe@acme.test",
    ]
    assert everyone.total == 5
    gone = people.list_people(engine, status=PersonStatus.GONE)
    assert (_emails(gone), gone.total) == (["gus@acme.test"], 1)
    ada = everyone.items[0]
    assert ada.id == seeded.people["ada"]
    assert (ada.employee_id, ada.department, ada.aliases) == (
        "E-1001",
        "Engineering",
        ("ada@old.test",),
    )


def test_a_page_and_the_total_of_all_pages(engine: Engine, seeded: Seeded) -> None:
    del seeded
    page = people.list_people(engine, limit=2, offset=2)
    assert (_emails(page), page.total) == (["gus@acme.test", "lea@partner.test"], 5)
    past = people.list_people(engine, limit=2, offset=10)
    assert (page.total, past.items) == (5, ())


@pytest.mark.parametrize(
    ("search", "found"),
    [
        ("LOVELACE", ["Ada.Lovelace@acme.test"]),  # last name, any case
        ("ada lovelace", ["Ada.Lovelace@acme.test"]),  # the whole name
        ("ÅNGSTRÖM", ["zoe@acme.test"]),  # beyond ASCII, any case
        ("e-3003", ["bob@acme.test"]),  # employee id
        ("sales", ["bob@acme.test"]),  # department
        ("@partner.", ["lea@partner.test"]),  # e-mail
        ("acme.test sales", []),  # never across two fields
        ("100%", []),  # no wildcard
        ("   ", ["Ada.Lovelace@acme.test", "bob@acme.test", "gus@acme.test",
                 "lea@partner.test", "zoe@acme.test"]),  # blank: everyone
    ],
)  # fmt: skip
def test_search_finds_a_substring_of_name_email_id_or_department(
    engine: Engine, seeded: Seeded, search: str, found: list[str]
) -> None:
    del seeded
    page = people.list_people(engine, search=search)
    assert (_emails(page), page.total) == (found, len(found))


def test_search_and_status_together(engine: Engine, seeded: Seeded) -> None:
    del seeded
    active = people.list_people(engine, search="acme", status=PersonStatus.ACTIVE)
    assert _emails(active) == ["Ada.Lovelace@acme.test", "zoe@acme.test"]


def test_a_person_with_their_accounts_by_id_or_any_cased_email(
    engine: Engine, seeded: Seeded
) -> None:
    by_id = people.person_detail(engine, str(seeded.people["bob"]))
    by_email = people.person_detail(engine, "  BOB@Acme.Test ")
    assert by_id == by_email
    assert by_id.person.status is PersonStatus.TERMINATED
    found = sorted((a.integration, a.kind.value, a.status) for a in by_id.accounts)
    assert found == sorted(
        [(seeded.integration, "teammate", "active"),
         (seeded.other_integration, "invite", "pending")]
    )  # fmt: skip
    gus = people.person_detail(engine, "gus@acme.test")
    lags = sorted(a.offboarding_lag_s for a in gus.accounts if a.offboarding_lag_s)
    assert lags == [3_600, 10_000, 86_400]
    assert all(a.removed_at is not None and not a.present for a in gus.accounts)


@pytest.mark.parametrize("asked", ["nobody@acme.test", "999999", "99999999999999", ""])
def test_an_unknown_person_is_not_found(
    engine: Engine, seeded: Seeded, asked: str
) -> None:
    del seeded
    with pytest.raises(Refused) as refused:
        people.person_detail(engine, asked)
    assert refused.value.kind == "not_found"


def test_accounts_by_classification_and_integration(
    engine: Engine, seeded: Seeded
) -> None:
    leavers = people.list_accounts(engine, classification=Classification.LEAVER)
    # The removed leavers' accounts are history, not listed.
    assert sorted((a.integration, a.email) for a in leavers.items) == sorted(
        [(seeded.integration, "bob@acme.test"),
         (seeded.other_integration, "bob@acme.test")]
    )  # fmt: skip
    assert leavers.total == 2
    assert {a.person_status for a in leavers.items} == {PersonStatus.TERMINATED}
    other = people.list_accounts(engine, integration=seeded.other_integration.upper())
    assert sorted(str(a.username) for a in other.items) == ["amb", "bob2"]
    everything = people.list_accounts(engine)
    assert everything.total == 7
    page = people.list_accounts(engine, limit=3, offset=6)
    assert (len(page.items), page.total) == (1, 7)
    shapes = {a.username: people.account_json(a) for a in everything.items}
    assert shapes["zoe"] == {
        "integration": seeded.integration,
        "kind": "subuser",
        "email": "ZOE@acme.test",
        "username": "zoe",
        "role": None,
        "status": "active",
        "person_id": seeded.people["zoe"],
        "person_status": "active",
        "classification": "contractor",
        "matched_by": "email",
    }
    assert (shapes["ext"]["person_id"], shapes["ext"]["matched_by"]) == (None, None)


def test_accounts_of_an_unknown_integration_are_refused(
    engine: Engine, seeded: Seeded
) -> None:
    del seeded
    with pytest.raises(Refused) as refused:
        people.list_accounts(engine, integration="No such integration")
    assert refused.value.kind == "not_found"


def test_the_summary_counts_present_accounts_and_the_median_lag(
    engine: Engine, seeded: Seeded
) -> None:
    del seeded
    summary = people.directory_summary(engine)
    assert summary.has_directory
    assert summary.people == {
        PersonStatus.ACTIVE: 2,
        PersonStatus.TERMINATED: 1,
        PersonStatus.LEAVE: 1,
        PersonStatus.GONE: 1,
    }
    assert (
        summary.leavers,
        summary.externals,
        summary.unknown_internal,
        summary.ambiguous,
    ) == (2, 1, 1, 1)
    assert summary.accounts[Classification.EMPLOYEE] == 1
    assert summary.accounts[Classification.SERVICE] == 0
    assert summary.median_offboarding_lag_s == MEDIAN_LAG


def test_the_person_json_shape_is_the_issues(engine: Engine, seeded: Seeded) -> None:
    detail = people.person_detail(engine, "ada.lovelace@ACME.test")
    shape = people.person_detail_json(detail)
    assert list(shape)[:11] == [
        "id",
        "email",
        "employee_id",
        "first_name",
        "last_name",
        "department",
        "manager_email",
        "status",
        "type",
        "aliases",
        "source",
    ]
    assert shape["id"] == seeded.people["ada"]
    assert shape["manager_email"] == "boss@acme.test"
    (account,) = shape["accounts"]
    assert (account["classification"], account["offboarding_lag_s"]) == (
        "employee",
        None,
    )


def test_search_folds_full_width_letters_and_sharp_s_on_both_databases(
    engine: Engine, seeded: Seeded
) -> None:
    del seeded
    tag = uuid.uuid4().hex[:8]
    email = f"weiss-{tag}@fold.test"  # not acme: other searches never see it
    with Session(engine) as session, session.begin():
        session.add(
            person_row(
                email,
                now=NOW,
                last_name=f"Weiß{tag}",
                department=f"Ｌａｂ {tag}",  # full-width letters
            )
        )

    def found(search: str) -> list[str]:
        return _emails(people.list_people(engine, search=search))

    assert found(f"LAB {tag}") == [email]
    assert found(f"Ｌａｂ {tag.upper()}") == [email]
    assert found(f"WEIß{tag}") == [email]
    assert found(f"ｗｅｉß{tag}") == [email]
