"""SCIM people and tokens in SQL, on SQLite and PostgreSQL.

The e-mail narrowing reads the aliases JSON as text, the unique userName
index and NULLs behave differently per database: each is checked on both.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from smp.model.people import PersonStatus, PersonType, email_key
from smp.storage import RecordNotFoundError, session_factory
from smp.storage.errors import ValueTooLong
from smp.storage.scim_people import (
    ScimPersonFields,
    ScimUserNameTaken,
    ScimVersionMismatch,
    delete_scim_person,
    find_scim_people,
    get_scim_person,
    insert_scim_person,
    update_scim_person,
)
from smp.storage.scim_tokens import (
    create_scim_token,
    find_scim_token,
    mark_scim_token_used,
)
from smp.storage.tables import PersonRow
from smp.storage.users import TOKEN_PREFIX

T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(hours=5)
T2 = T0 + dt.timedelta(days=3)


def _fields(
    user_name: str,
    *,
    aliases: tuple[str, ...] = (),
    status: PersonStatus = PersonStatus.ACTIVE,
    manager_id: str | None = None,
    **columns: Any,
) -> ScimPersonFields:
    email = columns.pop("email", user_name)
    return ScimPersonFields(
        user_name_key=email_key(user_name),
        resource={"userName": user_name, **columns.pop("resource", {})},
        email=email,
        email_key=email_key(email),
        aliases=list(aliases),
        first_name=columns.pop("first_name", None),
        last_name=None,
        employee_id=None,
        department=columns.pop("department", None),
        manager_id=manager_id,
        type=PersonType.EMPLOYEE,
        status=status,
    )


@pytest.fixture
def domain() -> str:
    return f"d{uuid.uuid4().hex[:8]}.example"


def _insert(engine: Engine, fields: ScimPersonFields, now: dt.datetime = T0) -> str:
    with session_factory(engine).begin() as session:
        return str(insert_scim_person(session, fields, now=now).id)


def _row(engine: Engine, scim_id: str) -> PersonRow:
    with Session(engine) as session:
        row = session.get(PersonRow, int(scim_id))
        assert row is not None
        session.expunge(row)
        return row


def test_a_user_reads_back_and_is_found_by_user_name_without_case(
    engine: Engine, domain: str
) -> None:
    scim_id = _insert(
        engine, _fields(f"Ann@{domain}", resource={"title": "Boss"}, first_name="Ann")
    )
    with Session(engine) as session:
        stored = get_scim_person(session, scim_id)
        found = find_scim_people(session, user_name_key=email_key(f"ANN@{domain}"))
    assert stored.resource == {"userName": f"Ann@{domain}", "title": "Boss"}
    assert (stored.created_at, stored.updated_at, stored.version) == (T0, T0, 1)
    assert [p.id for p in found] == [int(scim_id)]
    row = _row(engine, scim_id)
    assert (row.source, row.first_name, row.status) == ("scim", "Ann", "active")


def test_the_e_mail_narrowing_keeps_primaries_and_everyone_with_aliases(
    engine: Engine, domain: str
) -> None:
    primary = _insert(engine, _fields(f"p@{domain}"))
    aliased = _insert(engine, _fields(f"q@{domain}", aliases=(f"Other@{domain}",)))
    plain = _insert(engine, _fields(f"r@{domain}"))
    with Session(engine) as session:
        ids = {p.id for p in find_scim_people(session, email_key=f"p@{domain}")}
    assert int(primary) in ids
    # Aliases are JSON: anyone holding some stays a candidate (the filter decides).
    assert int(aliased) in ids
    assert int(plain) not in ids


def test_user_names_are_unique_among_scim_people_without_case(
    engine: Engine, domain: str
) -> None:
    first = _insert(engine, _fields(f"bob@{domain}"))
    other = _insert(engine, _fields(f"carl@{domain}"))
    with pytest.raises(ScimUserNameTaken):
        _insert(engine, _fields(f"BOB@{domain}"))
    with pytest.raises(ScimUserNameTaken), session_factory(engine).begin() as session:
        update_scim_person(session, other, _fields(f"Bob@{domain}"), now=T1)
    # Renaming oneself to one's own name in another case is fine.
    with session_factory(engine).begin() as session:
        update_scim_person(session, first, _fields(f"BOB@{domain}"), now=T1)


def test_termination_time_is_kept_while_terminated_and_cleared_on_return(
    engine: Engine, domain: str
) -> None:
    scim_id = _insert(engine, _fields(f"t@{domain}"))
    left = _fields(f"t@{domain}", status=PersonStatus.TERMINATED)
    for now in (T1, T2):
        with session_factory(engine).begin() as session:
            stored = update_scim_person(session, scim_id, left, now=now)
    assert stored.version == 3
    assert stored.updated_at == T2
    assert _row(engine, scim_id).terminated_at == T1
    with session_factory(engine).begin() as session:
        update_scim_person(session, scim_id, _fields(f"t@{domain}"), now=T2)
    row = _row(engine, scim_id)
    assert (row.status, row.terminated_at) == ("active", None)


def test_a_deleted_user_stays_as_a_gone_person_scim_cannot_find(
    engine: Engine, domain: str
) -> None:
    scim_id = _insert(engine, _fields(f"gone@{domain}"))
    with session_factory(engine).begin() as session:
        delete_scim_person(session, scim_id, now=T1)
    row = _row(engine, scim_id)
    assert (row.status, row.terminated_at, row.email) == ("gone", T1, f"gone@{domain}")
    assert (row.scim_user_name, row.scim_resource) == (None, None)
    with Session(engine) as session:
        assert session.scalar(
            select(PersonRow.id).where(
                PersonRow.id == int(scim_id), PersonRow.scim_resource.is_(None)
            )
        ) == int(scim_id), "a SQL NULL, not the JSON null"
        with pytest.raises(RecordNotFoundError):
            get_scim_person(session, scim_id)
        assert find_scim_people(session, user_name_key=f"gone@{domain}") == []
    # The userName is free again: a new person, the old one stays.
    assert _insert(engine, _fields(f"gone@{domain}")) != scim_id


@pytest.mark.parametrize("scim_id", ["0", "-1", "abc", "99999999999", "١٢"])
def test_ids_that_cannot_be_a_person_are_not_found(
    engine: Engine, scim_id: str
) -> None:
    with Session(engine) as session, pytest.raises(RecordNotFoundError):
        get_scim_person(session, scim_id)


def test_a_stale_version_is_refused(engine: Engine, domain: str) -> None:
    scim_id = _insert(engine, _fields(f"v@{domain}"))
    with pytest.raises(ScimVersionMismatch), session_factory(engine).begin() as s:
        delete_scim_person(s, scim_id, now=T1, expected_version=2)
    with session_factory(engine).begin() as session:
        delete_scim_person(session, scim_id, now=T1, expected_version=1)


def test_the_manager_is_the_e_mail_of_the_scim_user_named(
    engine: Engine, domain: str
) -> None:
    boss = _insert(engine, _fields(f"boss@{domain}", email=f"Boss.Mail@{domain}"))
    known = _insert(engine, _fields(f"k@{domain}", manager_id=boss))
    unknown = _insert(engine, _fields(f"u@{domain}", manager_id="987654321"))
    assert _row(engine, known).manager_email == f"Boss.Mail@{domain}"
    assert _row(engine, unknown).manager_email is None


def test_a_value_longer_than_its_column_is_refused_before_writing(
    engine: Engine, domain: str
) -> None:
    with pytest.raises(ValueTooLong) as refused:
        _insert(engine, _fields(f"long@{domain}", department="D" * 201))
    assert (refused.value.column, refused.value.limit) == ("department", 200)


def test_scim_tokens_are_found_by_their_own_prefix_and_used_once_a_minute(
    engine: Engine,
) -> None:
    with session_factory(engine).begin() as session:
        record, raw = create_scim_token(session, "Entra", created_by=None, now=T0)
    assert raw.startswith("smpscim_")
    assert not raw.startswith(TOKEN_PREFIX)
    for moment in (T0, T0 + dt.timedelta(seconds=59)):
        with session_factory(engine).begin() as session:
            mark_scim_token_used(session, record.id, now=moment)
    with Session(engine) as session:
        found = find_scim_token(session, raw)
        assert find_scim_token(session, raw + "x") is None
        assert find_scim_token(session, TOKEN_PREFIX + raw) is None
    assert found is not None
    assert (found.label, found.last_used_at) == ("Entra", T0)
    assert not found.use_is_due(T0 + dt.timedelta(seconds=59))
    assert found.use_is_due(T0 + dt.timedelta(minutes=1))


def test_an_update_says_whether_matching_reads_anything_new(
    engine: Engine, domain: str
) -> None:
    scim_id = _insert(engine, _fields(f"m@{domain}", department="Sales"))

    def update(fields: ScimPersonFields) -> bool:
        with session_factory(engine).begin() as session:
            stored = update_scim_person(session, scim_id, fields, now=T1)
        return stored.matching_changed

    assert update(_fields(f"m@{domain}", department="Legal")) is False
    assert update(_fields(f"m@{domain}", aliases=(f"m2@{domain}",))) is True
    assert update(_fields(f"m@{domain}", aliases=(f"m2@{domain}",))) is False
    assert update(_fields(f"m@{domain}", status=PersonStatus.TERMINATED)) is True
    assert update(_fields(f"m@{domain}", email=f"other@{domain}")) is True
