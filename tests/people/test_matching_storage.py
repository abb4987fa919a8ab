"""`reclassify` on SQLite and PostgreSQL: what it stores, keeps and records.

Members and subusers are written as the sync leaves them (members keyed by
the lower-cased e-mail, removals with `removed_at`); people as the import
does. Expected values are written by hand from docs/people.md.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session
from tests.support.months import edge_days, real_today
from tests.support.people_rows import add_people, person_row

from smp.storage import classifications, create_integration
from smp.storage.classifications import reclassify
from smp.storage.tables import (
    AccountClassificationRow,
    AccountLinkRow,
    CompanyDomainRow,
    MemberRow,
    PersonRow,
    SubuserRow,
)


def _integration(engine: Engine) -> int:
    with Session(engine) as session, session.begin():
        return create_integration(session, f"Acme {uuid.uuid4().hex[:8]}").id


def _member(
    engine: Engine, iid: int, email: str, now: dt.datetime, status: str = "active"
) -> None:
    with Session(engine) as session, session.begin():
        session.add(
            MemberRow(
                integration_id=iid, member_key=email.strip().lower(), email=email,
                username=email.partition("@")[0], role="user", status=status,
                first_seen=now, last_seen=now,
            )
        )  # fmt: skip


def _subuser(
    engine: Engine, iid: int, username: str, email: str, now: dt.datetime, **more: Any
) -> None:
    with Session(engine) as session, session.begin():
        session.add(
            SubuserRow(
                integration_id=iid, username=username, email=email, first_seen=now,
                last_seen=now, synced_at=now, **more,
            )
        )  # fmt: skip


def _set_member(engine: Engine, iid: int, email: str, **values: Any) -> None:
    with Session(engine) as session, session.begin():
        session.execute(
            update(MemberRow)
            .where(
                MemberRow.integration_id == iid, MemberRow.member_key == email.lower()
            )
            .values(**values)
        )


def _set_person(engine: Engine, person_id: int, **values: Any) -> None:
    with Session(engine) as session, session.begin():
        session.execute(
            update(PersonRow).where(PersonRow.id == person_id).values(**values)
        )


def _rows(engine: Engine, iid: int) -> dict[tuple[str, str], AccountClassificationRow]:
    with Session(engine) as session:
        found = session.scalars(
            select(AccountClassificationRow).where(
                AccountClassificationRow.integration_id == iid
            )
        )
        return {(row.kind, row.account_key): row for row in found}


def _domain(engine: Engine, domain: str, now: dt.datetime) -> None:
    with Session(engine) as session, session.begin():
        if session.get(CompanyDomainRow, domain) is None:
            session.add(CompanyDomainRow(domain=domain, created_at=now))


def _email(tag: str, name: str) -> str:
    return f"{name}.{tag}@corp-{tag}.test"


@pytest.fixture
def tag() -> str:
    """A prefix of this test's own: the module's tests share one database."""
    return uuid.uuid4().hex[:8]


def test_each_kind_of_account_is_classified(engine: Engine, tag: str) -> None:
    now = dt.datetime.combine(real_today(), dt.time(10), tzinfo=dt.UTC)
    iid = _integration(engine)
    ann, ben, svc = _email(tag, "ann"), _email(tag, "ben"), _email(tag, "svc")
    add_people(
        engine,
        person_row(ann, now=now, kind="contractor"),
        person_row(ben.upper(), now=now, status="terminated"),
        person_row(_email(tag, "svc-owner"), now=now, kind="service", aliases=[svc]),
    )
    _domain(engine, f"corp-{tag}.test", now)
    _member(engine, iid, ann, now)
    _member(engine, iid, ben, now, status="pending")
    _member(engine, iid, _email(tag, "nobody"), now)
    _member(engine, iid, f"guest@{tag}.elsewhere.test", now)
    _subuser(engine, iid, f"mail-{tag}", svc, now, disabled=True)
    _subuser(engine, iid, f"old-{tag}", _email(tag, "old"), now, removed_at=now)

    assert reclassify(engine, now=now, integration_ids=[iid]) == 5
    rows = _rows(engine, iid)
    found = {
        key: (r.classification, r.matched_by, r.status, r.present)
        for key, r in rows.items()
    }
    assert found == {
        ("teammate", ann): ("contractor", "email", "active", True),
        ("invite", ben): ("leaver", "email", "pending", True),
        ("teammate", _email(tag, "nobody")): ("unknown_internal", None, "active", True),
        ("teammate", f"guest@{tag}.elsewhere.test"): ("external", None, "active", True),
        ("subuser", f"mail-{tag}"): ("service", "alias", "disabled", True),
    }
    # Removed before SMP first classified it: no row at all.
    assert ("subuser", f"old-{tag}") not in rows
    assert rows[("invite", ben)].leaver_since == now
    assert rows[("teammate", ann)].leaver_since is None


def test_leaver_since_is_kept_while_a_leaver_and_cleared_after(
    engine: Engine, tag: str
) -> None:
    start = dt.datetime.combine(real_today(), dt.time(8), tzinfo=dt.UTC)
    iid = _integration(engine)
    email = _email(tag, "lee")
    (lee,) = add_people(engine, person_row(email, now=start))
    _member(engine, iid, email, start)
    reclassify(engine, now=start)
    assert _rows(engine, iid)[("teammate", email)].classification == "employee"

    terminated = start + dt.timedelta(hours=3)
    _set_person(engine, lee, status="terminated", terminated_at=terminated)
    reclassify(engine, now=terminated)
    later = terminated + dt.timedelta(days=2)
    reclassify(engine, now=later)
    row = _rows(engine, iid)[("teammate", email)]
    assert row.classification == "leaver"
    assert row.leaver_since == terminated
    # Nothing changed at `later`: the row was not rewritten.
    assert row.updated_at == terminated

    rehired = later + dt.timedelta(days=1)
    _set_person(engine, lee, status="active", terminated_at=None)
    reclassify(engine, now=rehired)
    row = _rows(engine, iid)[("teammate", email)]
    assert (row.classification, row.leaver_since) == ("employee", None)


def test_an_accepted_invite_keeps_its_row_and_its_leaver_since(
    engine: Engine, tag: str
) -> None:
    now = dt.datetime.combine(real_today(), dt.time(7), tzinfo=dt.UTC)
    iid = _integration(engine)
    email = _email(tag, "ivy")
    add_people(engine, person_row(email, now=now, status="terminated"))
    _member(engine, iid, email, now, status="pending")
    reclassify(engine, now=now)
    before = _rows(engine, iid)[("invite", email)]

    _set_member(engine, iid, email, status="active")
    reclassify(engine, now=now + dt.timedelta(hours=1))
    rows = _rows(engine, iid)
    assert set(rows) == {("teammate", email)}
    after = rows[("teammate", email)]
    assert after.id == before.id
    assert (after.status, after.leaver_since) == ("active", now)


@pytest.mark.parametrize("day", edge_days())
def test_a_removed_leavers_account_records_the_lag_from_the_end_date(
    engine: Engine, tag: str, day: dt.date
) -> None:
    learnt = dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC) + dt.timedelta(days=2)
    iid = _integration(engine)
    email = _email(tag, "max")
    add_people(engine, person_row(email, now=learnt, status="terminated", end_date=day))
    _member(engine, iid, email, learnt - dt.timedelta(days=30))
    reclassify(engine, now=learnt)

    removed = learnt + dt.timedelta(days=1)  # the sync that no longer lists it
    _set_member(engine, iid, email, status="removed", removed_at=removed)
    assert (
        reclassify(engine, now=removed + dt.timedelta(seconds=3), integration_ids=[iid])
        == 0
    )
    row = _rows(engine, iid)[("teammate", email)]
    assert not row.present
    assert row.status == "removed"
    assert row.removed_at == removed
    # From the end date at 00:00 UTC: three days and nine hours.
    assert row.offboarding_lag_s == 3 * 86_400 + 9 * 3_600
    assert row.leaver_since == learnt
    assert row.classification == "leaver"


def test_lags_from_the_termination_never_negative_and_none_for_stayers(
    engine: Engine, tag: str
) -> None:
    now = dt.datetime.combine(real_today(), dt.time(12), tzinfo=dt.UTC)
    iid = _integration(engine)
    early, late, stay = _email(tag, "early"), _email(tag, "late"), _email(tag, "stay")
    future_end = real_today() + dt.timedelta(days=10)
    add_people(
        engine,
        # HR's end date lies ahead: removed before it, so the lag is 0.
        person_row(early, now=now, status="terminated", end_date=future_end),
        # No end date: from when SMP learnt of it.
        person_row(late, now=now - dt.timedelta(hours=5), status="terminated"),
        person_row(stay, now=now),
    )
    for email in (early, late, stay):
        _member(engine, iid, email, now - dt.timedelta(days=9))
    reclassify(engine, now=now)
    for email in (early, late, stay):
        _set_member(engine, iid, email, status="removed", removed_at=now)
    reclassify(engine, now=now)
    rows = _rows(engine, iid)
    lags = {key: row.offboarding_lag_s for (_kind, key), row in rows.items()}
    assert lags == {early: 0, late: 5 * 3_600, stay: None}


def test_a_subuser_removed_and_a_row_gone_altogether(engine: Engine, tag: str) -> None:
    now = dt.datetime.combine(real_today(), dt.time(6), tzinfo=dt.UTC)
    iid = _integration(engine)
    a, b = _email(tag, "sub-a"), _email(tag, "sub-b")
    _subuser(engine, iid, f"a-{tag}", a, now)
    _subuser(engine, iid, f"b-{tag}", b, now)
    reclassify(engine, now=now)
    removed = now + dt.timedelta(hours=1)
    with Session(engine) as session, session.begin():
        session.execute(
            update(SubuserRow)
            .where(SubuserRow.username == f"a-{tag}")
            .values(removed_at=removed)
        )
        deleted = select(SubuserRow).where(SubuserRow.username == f"b-{tag}")
        session.delete(session.scalars(deleted).one())
    later = now + dt.timedelta(hours=2)
    reclassify(engine, now=later)
    rows = _rows(engine, iid)
    gone = rows[("subuser", f"a-{tag}")]
    assert (gone.present, gone.removed_at) == (False, removed)
    # No removal time to go by: when SMP noticed.
    assert rows[("subuser", f"b-{tag}")].removed_at == later
    assert rows[("subuser", f"b-{tag}")].offboarding_lag_s is None


def test_only_the_integrations_asked_for_are_classified(
    engine: Engine, tag: str
) -> None:
    now = dt.datetime.combine(real_today(), dt.time(11), tzinfo=dt.UTC)
    one, two = _integration(engine), _integration(engine)
    _member(engine, one, _email(tag, "one"), now)
    _member(engine, two, _email(tag, "two"), now)
    assert reclassify(engine, now=now, integration_ids=[one]) == 1
    assert len(_rows(engine, one)) == 1
    assert _rows(engine, two) == {}
    assert reclassify(engine, now=now, integration_ids=[]) == 0


def test_one_integrations_accounts_see_every_claimant_of_their_emails(
    engine: Engine, tag: str
) -> None:
    """A sync reclassifies its integration from part of the directory: the
    people who claim its e-mails by alias, from another source, gone, or by
    a link must all be in that part."""
    now = dt.datetime.combine(real_today(), dt.time(15), tzinfo=dt.UTC)
    iid = _integration(engine)
    shared, moved, desk = (
        _email(tag, "shared"),
        _email(tag, "moved"),
        _email(tag, "desk"),
    )
    ids = add_people(
        engine,
        person_row(shared, now=now),
        person_row(
            _email(tag, "other"), now=now, source="scim", aliases=[shared.upper()]
        ),
        person_row(moved, now=now, status="gone"),
        person_row(moved, now=now, source="scim", kind="partner"),
        person_row(_email(tag, "owner"), now=now, kind="service"),
    )
    with Session(engine) as session, session.begin():
        session.add(
            AccountLinkRow(email_key=desk, email=desk, person_id=ids[4], created_at=now)
        )
    for email in (shared, moved, desk):
        _member(engine, iid, email, now)
    assert reclassify(engine, now=now, integration_ids=[iid]) == 3
    rows = _rows(engine, iid)
    found = {
        key: (r.classification, r.person_id, r.matched_by, r.ambiguity)
        for (_kind, key), r in rows.items()
    }
    assert found == {
        shared: (
            "ambiguous",
            None,
            None,
            f"claimed by people {ids[0]} (primary e-mail), {ids[1]} (alias)",
        ),
        moved: ("partner", ids[3], "email", None),
        desk: ("service", ids[4], "manual", None),
    }


def test_the_lag_is_recorded_even_when_the_persons_email_has_changed_since(
    engine: Engine, tag: str
) -> None:
    # The account's person is found by the stored match, not by its e-mail.
    now = dt.datetime.combine(real_today(), dt.time(16), tzinfo=dt.UTC)
    iid = _integration(engine)
    email = _email(tag, "renamed")
    (person,) = add_people(
        engine, person_row(email, now=now - dt.timedelta(hours=2), status="terminated")
    )
    _member(engine, iid, email, now)
    reclassify(engine, now=now, integration_ids=[iid])
    _set_person(engine, person, email=_email(tag, "new"), email_key=_email(tag, "new"))
    _set_member(engine, iid, email, status="removed", removed_at=now)
    reclassify(engine, now=now, integration_ids=[iid])
    row = _rows(engine, iid)[("teammate", email)]
    assert row.person_id == person
    assert row.offboarding_lag_s == 2 * 3_600


def test_reclassifications_at_once_write_each_account_once(
    engine: Engine, tag: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sync ending while an import reclassifies: both find the same new
    accounts. Each run waits (up to a second) after reading the stored rows
    for the other to have read them too: unless one run waits for the other
    to finish, both would insert the same rows."""
    now = dt.datetime.combine(real_today(), dt.time(17), tzinfo=dt.UTC)
    iid = _integration(engine)
    emails = [_email(tag, f"new{number}") for number in range(20)]
    for email in emails:
        _member(engine, iid, email, now)
    both_read = threading.Barrier(2)
    read_stored = classifications._stored

    def stored_then_wait(*args: Any) -> Any:
        found = read_stored(*args)
        with contextlib.suppress(threading.BrokenBarrierError):
            both_read.wait(timeout=1.0)
        return found

    monkeypatch.setattr(classifications, "_stored", stored_then_wait)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            reclassify(engine, now=now, integration_ids=[iid])
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(key for _kind, key in _rows(engine, iid)) == sorted(emails)
