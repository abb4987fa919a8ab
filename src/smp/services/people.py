"""The directory's use cases, shared by `smp people`, `/api/v1` and the web pages.

Reads: the people (filtered by status, searched), one person with their
accounts in every integration, the accounts with their classification, and
the counts of the home page's card. Writes: company domains and manual links;
each one reclassifies every account at once, so a change shows without a sync.

Refusals (`Refused`): an unknown person, integration, domain or link is
`not_found`; a malformed e-mail or domain is `invalid` about its field.
Decisions:
- A link to a person who is `gone` or terminated is allowed: recording whose
  account it was is the point, and it makes the account a leaver.
- A link of an e-mail no account has yet is allowed: it applies when a sync
  finds one. The result says how many accounts it matched, so each entry
  point can tell.
- Adding a listed domain again changes nothing and is not refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from smp.model.people import Classification, Person, PersonStatus
from smp.services.input_rules import MAX_ID
from smp.services.refusals import Refused, refusing
from smp.storage import get_integration, read_session
from smp.storage.people_queries import (
    ClassifiedAccount,
    accounts_of_person,
    get_person,
    has_directory,
    median_offboarding_lag_s,
    page_accounts,
    page_people,
    people_by_status,
    person_by_email,
    present_accounts_by_classification,
)

__all__ = [
    "AccountsPage",
    "ClassifiedAccount",
    "DirectorySummary",
    "PeoplePage",
    "PersonDetail",
    "account_json",
    "directory_summary",
    "list_accounts",
    "list_people",
    "person_detail",
    "person_detail_json",
    "person_json",
]


@dataclass(frozen=True, slots=True)
class PeoplePage:
    items: tuple[Person, ...]
    # How many people match the filters (all pages).
    total: int


@dataclass(frozen=True, slots=True)
class PersonDetail:
    """A person and their accounts in every integration, present or removed."""

    person: Person
    accounts: tuple[ClassifiedAccount, ...]


@dataclass(frozen=True, slots=True)
class AccountsPage:
    items: tuple[ClassifiedAccount, ...]
    total: int


@dataclass(frozen=True, slots=True)
class DirectorySummary:
    """The home page's card: who is where, and how quickly leavers lose access."""

    people: dict[PersonStatus, int]
    # Accounts SendGrid still lists, per classification (every one, maybe 0).
    accounts: dict[Classification, int]
    # From a person's termination to their account's removal; None until one is.
    median_offboarding_lag_s: float | None
    # False until a directory was imported or pushed: then nothing is matched.
    has_directory: bool

    @property
    def leavers(self) -> int:
        return self.accounts[Classification.LEAVER]

    @property
    def externals(self) -> int:
        return self.accounts[Classification.EXTERNAL]

    @property
    def unknown_internal(self) -> int:
        return self.accounts[Classification.UNKNOWN_INTERNAL]

    @property
    def ambiguous(self) -> int:
        return self.accounts[Classification.AMBIGUOUS]


def list_people(
    engine: Engine,
    *,
    status: PersonStatus | None = None,
    search: str | None = None,
    limit: int | None = 100,
    offset: int = 0,
) -> PeoplePage:
    """People by e-mail; `search` is a case-insensitive substring of the name,
    e-mail, employee id or department. `limit=None`: all of them."""
    with read_session(engine) as session:
        items, total = page_people(
            session, status=status, search=search, limit=limit, offset=offset
        )
    return PeoplePage(tuple(items), total)


def _find(engine: Engine, id_or_email: str) -> Person:
    text = id_or_email.strip()
    with read_session(engine) as session:
        if text.isascii() and text.isdigit():
            # Past PostgreSQL's integer no id exists (and asking would fail).
            person_id = int(text)
            found = get_person(session, person_id) if person_id <= MAX_ID else None
        else:
            found = person_by_email(session, text)
    if found is None:
        raise Refused(f"no person {text!r} (an id or an e-mail)", kind="not_found")
    return found


def person_detail(engine: Engine, id_or_email: str) -> PersonDetail:
    """A person by id or primary e-mail, with their accounts; Refused not_found."""
    person = _find(engine, id_or_email)
    with read_session(engine) as session:
        accounts = accounts_of_person(session, person.id)
    return PersonDetail(person, tuple(accounts))


def list_accounts(
    engine: Engine,
    *,
    integration: str | None = None,
    classification: Classification | None = None,
    limit: int | None = 100,
    offset: int = 0,
) -> AccountsPage:
    """Accounts SendGrid still lists, with their person and classification.

    `integration` is a name or an id (unknown: Refused not_found).
    """
    with refusing(), read_session(engine) as session:
        integration_id = None
        if integration is not None:
            integration_id = get_integration(session, integration).id
        items, total = page_accounts(
            session,
            integration_id=integration_id,
            classification=classification,
            limit=limit,
            offset=offset,
        )
    return AccountsPage(tuple(items), total)


def directory_summary(engine: Engine) -> DirectorySummary:
    with read_session(engine) as session:
        return DirectorySummary(
            people=people_by_status(session),
            accounts=present_accounts_by_classification(session),
            median_offboarding_lag_s=median_offboarding_lag_s(session),
            has_directory=has_directory(session),
        )


# --- the JSON shapes of the CLI (the issue's), the API's models match them ---------


def person_json(person: Person) -> dict[str, Any]:
    return {
        "id": person.id,
        "email": person.email,
        "employee_id": person.employee_id,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "department": person.department,
        "manager_email": person.manager_email,
        "status": person.status.value,
        "type": person.type.value,
        "aliases": list(person.aliases),
        "source": person.source,
    }


def account_json(account: ClassifiedAccount) -> dict[str, Any]:
    return {
        "integration": account.integration,
        "kind": account.kind.value,
        "email": account.email,
        "username": account.username,
        "role": account.role,
        "status": account.status,
        "person_id": account.person_id,
        "person_status": account.person_status and account.person_status.value,
        "classification": account.classification.value,
        "matched_by": account.matched_by and account.matched_by.value,
    }


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def person_detail_json(detail: PersonDetail) -> dict[str, Any]:
    """The person, plus their accounts with when they became a leaver, were
    removed, and the offboarding lag between termination and removal."""
    person = detail.person
    accounts = [
        {
            **account_json(a),
            "present": a.present,
            "ambiguity": a.ambiguity,
            "leaver_since": _iso(a.leaver_since),
            "removed_at": _iso(a.removed_at),
            "offboarding_lag_s": a.offboarding_lag_s,
        }
        for a in detail.accounts
    ]
    return {
        **person_json(person),
        "start_date": _iso(person.start_date),
        "end_date": _iso(person.end_date),
        "terminated_at": _iso(person.terminated_at),
        "accounts": accounts,
    }
