"""People pushed over SCIM: the rows of `people` whose source is "scim".

A SCIM user is a person whose `scim_user_name` is set. The whole resource is
kept as the client wrote it (`scim_resource`), so it reads back unchanged,
beside the directory columns the rest of SMP reads (e-mail, names, status...).
The SCIM id is the person's id. A deleted user stays as a `gone` person, for
history, with its SCIM columns cleared, so SCIM no longer finds it.

`scim_user_name` holds the userName's `email_key` form: SCIM compares
userNames without case (RFC 7643 §4.1.1), and the unique index then refuses
"Bob" beside "bob". Nothing commits here: the caller does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any, cast

from sqlalchemy import String, Table, func, null, or_, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from smp.model.people import PersonStatus, PersonType, email_key
from smp.storage.errors import RecordNotFoundError, StorageError
from smp.storage.people import terminated_at
from smp.storage.tables import PersonRow
from smp.storage.upsert import check_lengths

SCIM_SOURCE = "scim"


class ScimUserNameTaken(StorageError):
    """Another SCIM user has this userName (compared without case)."""


class ScimVersionMismatch(StorageError):
    """The person changed since the version the client named."""


@dataclass(frozen=True, slots=True)
class ScimPersonFields:
    """What a SCIM write sets: the resource and the directory columns read from it."""

    user_name_key: str
    resource: dict[str, Any]
    email: str
    email_key: str
    aliases: list[str]
    first_name: str | None
    last_name: str | None
    employee_id: str | None
    department: str | None
    # The SCIM id of the manager (manager.value); its e-mail is looked up here.
    manager_id: str | None
    type: PersonType
    status: PersonStatus


@dataclass(frozen=True, slots=True)
class StoredScimPerson:
    id: int
    resource: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int
    # Whether the write changed what matching reads (e-mails, status, type),
    # so the accounts need reclassifying; a title or department change does not.
    matching_changed: bool = True
    # The e-mail keys whose claimants the write may have changed: the
    # person's primary e-mail and aliases, before and after. Only accounts
    # with these e-mails (or matched to the person) need reclassifying.
    claimed: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class DeletedScimPerson:
    id: int
    # The e-mail keys the person claimed: their accounts turn leavers.
    claimed: frozenset[str]


# The columns account matching and classification read from a person.
MATCHED_COLUMNS = ("email_key", "aliases", "status", "type")


def _live() -> Any:
    """The rows SCIM sees: people from SCIM that were not deleted."""
    return (PersonRow.source == SCIM_SOURCE) & PersonRow.scim_user_name.is_not(None)


def _claimed(row: PersonRow) -> frozenset[str]:
    """The e-mail keys a person claims accounts by (primary and aliases)."""
    return frozenset({row.email_key, *(email_key(alias) for alias in row.aliases)})


def _stored(row: PersonRow) -> StoredScimPerson:
    return StoredScimPerson(
        id=row.id,
        resource=dict(row.scim_resource or {}),
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
    )


def _person_id(scim_id: str) -> int | None:
    """The person id a SCIM id stands for; None when it cannot be one."""
    if not scim_id.isascii() or not scim_id.isdigit() or len(scim_id) > 10:
        return None
    value = int(scim_id)
    return value if 0 < value < 2**31 else None


def _live_row(session: Session, scim_id: str) -> PersonRow:
    person_id = _person_id(scim_id)
    row = (
        None
        if person_id is None
        else session.scalar(select(PersonRow).where(PersonRow.id == person_id, _live()))
    )
    if row is None:
        raise RecordNotFoundError(f"no SCIM user has the id {scim_id!r}")
    return row


def get_scim_person(session: Session, scim_id: str) -> StoredScimPerson:
    """A SCIM user by id; RecordNotFoundError when none (or deleted)."""
    return _stored(_live_row(session, scim_id))


def find_scim_people(
    session: Session,
    *,
    user_name_key: str | None = None,
    email_key: str | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> list[StoredScimPerson]:
    """SCIM users, all of them or those that may have this userName or e-mail.

    The e-mail narrowing is a superset: people whose primary e-mail has this
    key (an index), plus everyone with other e-mails (aliases are JSON, not
    indexed). The caller's filter decides exactly. `offset` and `limit` page
    in SQL (by id), for a search with no filter.
    """
    query = (
        select(PersonRow).where(_live()).order_by(PersonRow.id).offset(offset)
    ).limit(limit)
    if user_name_key is not None:
        query = query.where(PersonRow.scim_user_name == user_name_key)
    if email_key is not None:
        query = query.where(
            or_(
                PersonRow.email_key == email_key,
                sql_cast(PersonRow.aliases, String) != "[]",
            )
        )
    return [_stored(row) for row in session.scalars(query)]


def count_scim_people(session: Session) -> int:
    """How many SCIM users there are (a search's total with no filter)."""
    query = select(func.count()).select_from(PersonRow).where(_live())
    return session.scalar(query) or 0


def _manager_email(session: Session, manager_id: str | None) -> str | None:
    """The e-mail of the SCIM user a manager.value names; None when unknown."""
    if manager_id is None:
        return None
    person_id = _person_id(manager_id)
    if person_id is None:
        return None
    return session.scalar(
        select(PersonRow.email).where(PersonRow.id == person_id, _live())
    )


def _ensure_user_name_free(
    session: Session, user_name_key: str, person_id: int | None
) -> None:
    holder = session.scalar(
        select(PersonRow.id).where(PersonRow.scim_user_name == user_name_key)
    )
    if holder is not None and holder != person_id:
        raise ScimUserNameTaken("another SCIM user has this userName")


def _columns(session: Session, fields: ScimPersonFields) -> dict[str, Any]:
    values: dict[str, Any] = {
        "scim_user_name": fields.user_name_key,
        "scim_resource": fields.resource,
        "email": fields.email,
        "email_key": fields.email_key,
        "aliases": fields.aliases,
        "first_name": fields.first_name,
        "last_name": fields.last_name,
        "employee_id": fields.employee_id,
        "department": fields.department,
        "manager_email": _manager_email(session, fields.manager_id),
        "type": fields.type.value,
        "status": fields.status.value,
    }
    check_lengths(
        cast(Table, PersonRow.__table__),
        {name: [value] for name, value in values.items() if isinstance(value, str)},
    )
    return values


def _flush(session: Session) -> None:
    """Flush; two clients racing for one userName meet the unique index here."""
    try:
        session.flush()
    except IntegrityError as error:
        raise ScimUserNameTaken("another SCIM user has this userName") from error


def insert_scim_person(
    session: Session, fields: ScimPersonFields, *, now: dt.datetime
) -> StoredScimPerson:
    _ensure_user_name_free(session, fields.user_name_key, None)
    values = _columns(session, fields)
    row = PersonRow(
        source=SCIM_SOURCE,
        created_at=now,
        updated_at=now,
        terminated_at=terminated_at(None, None, fields.status.value, now),
        version=1,
        **values,
    )
    session.add(row)
    _flush(session)
    return replace(_stored(row), claimed=_claimed(row))


def _check_version(row: PersonRow, expected_version: int | None) -> None:
    if expected_version is not None and row.version != expected_version:
        raise ScimVersionMismatch("the SCIM user changed since that version")


def update_scim_person(
    session: Session,
    scim_id: str,
    fields: ScimPersonFields,
    *,
    now: dt.datetime,
    expected_version: int | None = None,
) -> StoredScimPerson:
    """Replace a SCIM user's resource and columns; the version goes up by one."""
    row = _live_row(session, scim_id)
    _check_version(row, expected_version)
    _ensure_user_name_free(session, fields.user_name_key, row.id)
    before = [getattr(row, name) for name in MATCHED_COLUMNS]
    claimed_before = _claimed(row)
    values = _columns(session, fields)
    values["terminated_at"] = terminated_at(
        row.status, row.terminated_at, fields.status.value, now
    )
    session.execute(
        update(PersonRow)
        .where(PersonRow.id == row.id)
        .values(**values, updated_at=now, version=PersonRow.version + 1)
    )
    _flush(session)
    session.refresh(row)
    after = [getattr(row, name) for name in MATCHED_COLUMNS]
    return replace(
        _stored(row),
        matching_changed=before != after,
        claimed=claimed_before | _claimed(row),
    )


def delete_scim_person(
    session: Session,
    scim_id: str,
    *,
    now: dt.datetime,
    expected_version: int | None = None,
) -> DeletedScimPerson:
    """A deleted SCIM user stays as a `gone` person; SCIM no longer sees it."""
    row = _live_row(session, scim_id)
    _check_version(row, expected_version)
    claimed = _claimed(row)
    session.execute(
        update(PersonRow)
        .where(PersonRow.id == row.id)
        .values(
            status=PersonStatus.GONE.value,
            terminated_at=terminated_at(
                row.status, row.terminated_at, PersonStatus.GONE.value, now
            ),
            scim_user_name=None,
            # SQL NULL, not the JSON value null.
            scim_resource=null(),
            updated_at=now,
            version=PersonRow.version + 1,
        )
    )
    return DeletedScimPerson(row.id, claimed)
