"""Company domains and manual links (smp.services.people) on SQLite and PostgreSQL.

Each change reclassifies at once: the accounts' new classification is read
back without a sync. Expected values follow from the rows each test writes.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from tests.support.people_rows import add_people, person_row, seed_members

from smp.services import people
from smp.services.refusals import Refused
from smp.storage.classifications import reclassify
from smp.storage.tables import AccountClassificationRow

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def _classes(engine: Engine, integration: str) -> dict[str | None, tuple[str, ...]]:
    """email -> (classification, matched_by, person id) of one integration."""
    page = people.list_accounts(engine, integration=integration, limit=None)
    return {
        a.email: (a.classification.value, str(a.matched_by), str(a.person_id))
        for a in page.items
    }


def test_a_company_domain_makes_unmatched_accounts_unknown_internal(
    engine: Engine,
) -> None:
    domain = f"corp-{uuid.uuid4().hex[:6]}.test"
    name = seed_members(engine, NOW, [f"x@{domain}", "y@elsewhere.test"])
    reclassify(engine, now=NOW)
    assert _classes(engine, name)[f"x@{domain}"][0] == "external"
    added = people.add_domain(engine, f"  @{domain.upper()}. ", now=NOW)
    assert (added.domain, added.changed) == (domain, True)
    assert domain in [d.domain for d in people.list_domains(engine)]
    found = _classes(engine, name)
    assert (found[f"x@{domain}"][0], found["y@elsewhere.test"][0]) == (
        "unknown_internal",
        "external",
    )
    again = people.add_domain(engine, domain, now=NOW)
    assert again.changed is False
    people.remove_domain(engine, domain.upper(), now=NOW)
    assert _classes(engine, name)[f"x@{domain}"][0] == "external"
    with pytest.raises(Refused) as refused:
        people.remove_domain(engine, domain, now=NOW)
    assert (refused.value.kind, refused.value.field) == ("not_found", "domain")


@pytest.mark.parametrize(
    "domain", ["localhost", "a b.test", "-x.test", "x_y.test", "ada@corp.test", ""]
)
def test_a_malformed_domain_is_refused(engine: Engine, domain: str) -> None:
    with pytest.raises(Refused) as refused:
        people.add_domain(engine, domain, now=NOW)
    assert (refused.value.kind, refused.value.field) == ("invalid", "domain")


def test_a_manual_link_wins_and_unlinking_restores_matching(engine: Engine) -> None:
    tag = uuid.uuid4().hex[:6]
    private, shared = f"grace.{tag}@gmail.test", f"grace.{tag}@corp.test"
    grace, gone = add_people(
        engine,
        person_row(shared, now=NOW, source=tag),
        person_row(f"old.{tag}@corp.test", now=NOW, status="gone", source=tag),
    )
    name = seed_members(engine, NOW, [private, shared])
    reclassify(engine, now=NOW)
    assert _classes(engine, name)[private] == ("external", "None", "None")

    linked = people.link_account(engine, private.upper(), grace, actor="ada", now=NOW)
    assert (linked.person_id, linked.accounts, linked.previous) == (grace, 1, None)
    found = _classes(engine, name)
    assert found[private] == ("employee", "manual", str(grace))
    # A link wins over the person the e-mail itself belongs to.
    relinked = people.link_account(engine, shared, gone, actor=None, now=NOW)
    assert (relinked.accounts, relinked.previous) == (1, None)
    assert _classes(engine, name)[shared] == ("leaver", "manual", str(gone))
    moved = people.link_account(engine, private, gone, actor="ada", now=NOW)
    assert moved.previous == grace
    assert _classes(engine, name)[private] == ("leaver", "manual", str(gone))

    people.unlink_account(engine, f" {shared.upper()} ", now=NOW)
    assert _classes(engine, name)[shared] == ("employee", "email", str(grace))
    with pytest.raises(Refused) as refused:
        people.unlink_account(engine, shared, now=NOW)
    assert (refused.value.kind, refused.value.field) == ("not_found", "email")


def test_a_link_waits_for_an_account_and_needs_a_person(engine: Engine) -> None:
    tag = uuid.uuid4().hex[:6]
    (someone,) = add_people(engine, person_row(f"p.{tag}@corp.test", now=NOW))
    early = people.link_account(
        engine, f"later.{tag}@gmail.test", someone, actor="ada", now=NOW
    )
    assert (early.accounts, early.email) == (0, f"later.{tag}@gmail.test")
    name = seed_members(engine, NOW, [f"Later.{tag}@gmail.test"])
    reclassify(engine, now=NOW)
    assert _classes(engine, name)[f"Later.{tag}@gmail.test"] == (
        "employee",
        "manual",
        str(someone),
    )
    for person_id in (someone + 10_000, 0, 2**40):
        with pytest.raises(Refused) as refused:
            people.link_account(engine, "a@b.test", person_id, actor=None, now=NOW)
        assert (refused.value.kind, refused.value.field) == ("not_found", "person_id")
    for email in ("not-an-email", "@corp.test", "a b@corp.test", "x@"):
        with pytest.raises(Refused) as refused:
            people.link_account(engine, email, someone, actor=None, now=NOW)
        assert (refused.value.kind, refused.value.field) == ("invalid", "email")
    # 120 characters as given, 340 once NFKC makes each "ﬃ" "ffi".
    lengthened = "\ufb03" * 110 + "@corp.test"
    with pytest.raises(Refused) as refused:
        people.link_account(engine, lengthened, someone, actor=None, now=NOW)
    assert (refused.value.kind, refused.value.field) == ("invalid", "email")
    assert "340 characters long once normalised (at most 320)" in str(refused.value)


def test_the_median_lag_is_none_at_first_then_the_middle_of_the_lags(
    db: Engine,
) -> None:
    empty = people.directory_summary(db)
    assert (empty.has_directory, empty.median_offboarding_lag_s) == (False, None)
    assert empty.leavers == 0
    name = seed_members(db, NOW, ["a@corp.test"])
    reclassify(db, now=NOW)
    with Session(db) as session, session.begin():
        (row,) = session.scalars(select(AccountClassificationRow)).all()
        assert row.email == "a@corp.test", name
        for number, lag in enumerate((100, 400, 50, 1_000)):
            session.add(
                AccountClassificationRow(
                    integration_id=row.integration_id,
                    kind="teammate",
                    account_key=f"gone{number}",
                    status="removed",
                    classification="leaver",
                    present=False,
                    offboarding_lag_s=lag,
                    updated_at=NOW,
                )
            )
    # 50, 100, 400, 1,000: the mean of the middle two.
    assert people.directory_summary(db).median_offboarding_lag_s == 250
