"""Bodies of `/people`, `/accounts`, `/company-domains` and `/account-links`.

The fields and names are the CLI's `--json` shapes (docs/cli.md), so a script
reads the same keys from either.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from smp.api.schemas import Id, Strict
from smp.model.people import (
    AccountKind,
    Classification,
    MatchedBy,
    PersonStatus,
    PersonType,
)
from smp.services.input_rules import PRINTABLE

AT = "2026-03-01T09:30:00Z"
PERSON_EXAMPLE: dict[str, Any] = {
    "id": 12,
    "email": "grace@example.com",
    "employee_id": "E-1042",
    "first_name": "Grace",
    "last_name": "Hopper",
    "department": "Engineering",
    "manager_email": "ada@example.com",
    "status": "terminated",
    "type": "employee",
    "aliases": ["g.hopper@example.com"],
    "source": "hr-export",
}
ACCOUNT_EXAMPLE: dict[str, Any] = {
    "integration": "Acme mail",
    "kind": "teammate",
    "email": "grace@example.com",
    "username": "grace",
    "role": "admin",
    "status": "active",
    "person_id": 12,
    "person_status": "terminated",
    "classification": "leaver",
    "matched_by": "email",
}
HISTORY_EXAMPLE: dict[str, Any] = {
    "present": True,
    "ambiguity": None,
    "leaver_since": AT,
    "removed_at": None,
    "offboarding_lag_s": None,
}


def _example(value: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [value]})


class PersonOut(BaseModel):
    model_config = _example(PERSON_EXAMPLE)

    id: int
    email: str
    employee_id: str | None
    first_name: str | None
    last_name: str | None
    department: str | None
    manager_email: str | None
    status: PersonStatus = Field(description="gone: missing from a full re-import")
    type: PersonType
    aliases: list[str] = Field(description="Other e-mails of the person")
    source: str = Field(description="The import's source name, or scim")


class AccountOut(BaseModel):
    model_config = _example(ACCOUNT_EXAMPLE)

    integration: str = Field(description="The integration's name")
    kind: AccountKind
    email: str | None
    username: str | None
    role: str | None
    status: str = Field(description="active, pending, disabled (subusers) or removed")
    person_id: int | None
    person_status: PersonStatus | None
    classification: Classification
    matched_by: MatchedBy | None


class PersonAccountOut(AccountOut):
    """An account of one person, with its history."""

    model_config = _example({**ACCOUNT_EXAMPLE, **HISTORY_EXAMPLE})

    present: bool = Field(description="false once SendGrid no longer lists it")
    ambiguity: str | None = Field(description="Which people claim it, if ambiguous")
    leaver_since: dt.datetime | None = Field(
        description="When it became a leaver's account (its person terminated)"
    )
    removed_at: dt.datetime | None
    offboarding_lag_s: int | None = Field(
        description="Seconds from the person's termination to the account's removal"
    )


class PersonDetailOut(PersonOut):
    model_config = _example(
        {
            **PERSON_EXAMPLE,
            "start_date": "2019-04-01",
            "end_date": "2026-02-27",
            "terminated_at": AT,
            "accounts": [{**ACCOUNT_EXAMPLE, **HISTORY_EXAMPLE}],
        }
    )

    start_date: dt.date | None
    end_date: dt.date | None
    terminated_at: dt.datetime | None = Field(
        description="When SMP learnt the person was terminated or gone"
    )
    accounts: list[PersonAccountOut] = Field(
        description="Their accounts in every integration, removed ones too"
    )


DomainText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=253,
        pattern=PRINTABLE,
        examples=["example.com"],
    ),
]
EmailText = Annotated[
    str,
    Field(
        min_length=3,
        max_length=320,
        pattern=PRINTABLE,
        examples=["grace.h@gmail.com"],
    ),
]


class DomainIn(Strict):
    domain: DomainText


class DomainOut(BaseModel):
    model_config = _example({"domain": "example.com", "created_at": AT})

    domain: str = Field(description="As compared: lower case, no trailing dot")
    created_at: dt.datetime


class DomainChangeOut(BaseModel):
    model_config = _example({"domain": "example.com", "changed": True})

    domain: str
    changed: bool = Field(description="false: it was a company domain already")


class LinkIn(Strict):
    email: EmailText
    person_id: Id


class LinkOut(BaseModel):
    model_config = _example(
        {"email": "grace.h@gmail.com", "person_id": 12, "accounts": 1, "previous": None}
    )

    email: str
    person_id: int
    accounts: int = Field(
        description="Accounts SendGrid lists with this e-mail, now the person's "
        "(0: the link applies when a sync finds one)"
    )
    previous: int | None = Field(description="The person it was linked to before")
