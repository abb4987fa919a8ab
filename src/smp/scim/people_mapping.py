"""A SCIM user to SMP's directory columns, and a stored person back to a SCIM user.

The resource is kept as the client wrote it, so it reads back unchanged;
SMP reads its own columns from it:

- e-mail: the `primary` e-mail, else the first one, else the userName (so a
  user with no e-mail is kept, and matches an account only if its userName is
  that account's e-mail); aliases: the other e-mails;
- first and last name: name.givenName and name.familyName;
- employee id, department: the enterprise extension's employeeNumber and
  department; manager: the e-mail of the SCIM user whose id is manager.value,
  when SMP has them (else none), looked up when the user is written;
- type: userType when it names one of SMP's types (employee, contractor,
  partner, service, in any case), else employee;
- status: `active: false` is terminated; `active: true` or no `active` is
  active. SCIM cannot say "on leave".

Passwords are never stored: SMP has no use for them and SCIM never returns
them (RFC 7643 §4.1.1, returned "never").
"""

from __future__ import annotations

from typing import Any

from scim2_models import (
    InvalidValueException,
    Meta,
    Resource,
    User,
)

from smp.model.people import PersonStatus, PersonType, email_key
from smp.scim.models import SmpEnterpriseUser
from smp.storage.scim_people import ScimPersonFields, StoredScimPerson

RESOURCE_TYPE = "User"
# Never kept: the server fills id and meta; a password is not SMP's to hold.
NOT_STORED = ("id", "meta", "password")
# The SCIM attribute behind each directory column, for error messages.
ATTRIBUTE_OF_COLUMN = {
    "scim_user_name": "userName",
    "email": "emails.value (or userName)",
    "email_key": "emails.value (or userName)",
    "first_name": "name.givenName",
    "last_name": "name.familyName",
    "employee_id": "employeeNumber",
    "department": "department",
    "manager_email": "manager",
}
_TYPES = {member.value: member for member in PersonType}


def version_tag(version: int) -> str:
    """meta.version: a weak entity tag of the row's version counter."""
    return f'W/"{version}"'


def version_number(tag: str | None) -> int | None:
    """The counter a version tag names; -1 (never stored) for a tag SMP did not make."""
    if tag is None:
        return None
    digits = tag.removeprefix("W/").strip('"')
    return int(digits) if digits.isascii() and digits.isdigit() else -1


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if "\x00" in text:
        # PostgreSQL cannot store NUL in text; refused rather than cut.
        raise InvalidValueException(detail="a value holds a NUL character")
    return text or None


def _emails(user: Any) -> list[str]:
    """E-mail values, the primary first, each e-mail once (compared as keys)."""
    listed = [e for e in (user.emails or []) if _text(e.value)]
    listed.sort(key=lambda e: not e.primary)
    seen: dict[str, str] = {}
    for item in listed:
        value = _text(item.value) or ""
        seen.setdefault(email_key(value), value)
    return list(seen.values())


def _person_type(user_type: str | None) -> PersonType:
    return _TYPES.get(email_key(user_type or ""), PersonType.EMPLOYEE)


def fields_of(user: Resource[Any]) -> ScimPersonFields:
    """The directory columns of a SCIM user; InvalidValueException when none fit."""
    if not isinstance(user, User):
        raise InvalidValueException(detail="only Users are served here")
    user_name = _text(user.user_name)
    if user_name is None:
        raise InvalidValueException(detail="userName is required")
    emails = _emails(user)
    email = emails[0] if emails else user_name
    enterprise = user[SmpEnterpriseUser]
    name = user.name
    resource = user.model_dump(mode="json")
    for key in NOT_STORED:
        resource.pop(key, None)
    manager = enterprise.manager if enterprise is not None else None
    return ScimPersonFields(
        user_name_key=email_key(user_name),
        resource=resource,
        email=email,
        email_key=email_key(email),
        aliases=emails[1:],
        first_name=_text(name.given_name) if name else None,
        last_name=_text(name.family_name) if name else None,
        employee_id=_text(enterprise.employee_number) if enterprise else None,
        department=_text(enterprise.department) if enterprise else None,
        manager_id=_text(manager.value) if manager else None,
        type=_person_type(user.user_type),
        status=(
            PersonStatus.TERMINATED if user.active is False else PersonStatus.ACTIVE
        ),
    )


def resource_of(stored: StoredScimPerson, model: type[Resource[Any]]) -> Resource[Any]:
    """The SCIM user as stored, with the id and meta SMP keeps for it."""
    user = model.model_validate(stored.resource)
    user.id = str(stored.id)
    user.meta = Meta(
        resource_type=RESOURCE_TYPE,
        created=stored.created_at,
        last_modified=stored.updated_at,
        version=version_tag(stored.version),
    )
    return user
