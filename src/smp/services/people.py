"""The directory's use cases, shared by `smp people`, `/api/v1` and the web pages.

Reads: the people (filtered by status, searched), one person with their
accounts in every integration, the accounts with their classification, and
the counts of the home page's card. Writes: company domains and manual links;
each one reclassifies the accounts it touches at once (a link: its e-mail's;
a domain: every account), so a change shows without a sync.

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

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from smp.model.people import (
    Classification,
    Person,
    PersonStatus,
    domain_key,
    email_key,
)
from smp.services.audit import Actor, named, record
from smp.services.directory_effects import claims_changed, directory_changed
from smp.services.input_rules import MAX_ID
from smp.services.refusals import Refused, refusing
from smp.storage import directory_links as links
from smp.storage import get_integration, read_session
from smp.storage.directory_links import CompanyDomain
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
    "CompanyDomain",
    "DirectorySummary",
    "DomainChange",
    "LinkChange",
    "PeoplePage",
    "PersonDetail",
    "account_json",
    "add_domain",
    "directory_summary",
    "link_account",
    "list_accounts",
    "list_domains",
    "list_people",
    "person_detail",
    "person_detail_json",
    "person_json",
    "remove_domain",
    "unlink_account",
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
    digits = (integration or "").strip()
    if digits.isascii() and digits.isdigit() and int(digits) > MAX_ID:
        # Past PostgreSQL's integer no id exists (and asking would fail).
        raise Refused(f"no integration {integration!r}", kind="not_found")
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


# --- company domains and manual links ---------------------------------------------

# A domain label: letters of any script (IDN), digits, inner hyphens.
_LABEL = re.compile(r"^[^\W_](?:[^\W_]|-)*(?<!-)$")
MAX_DOMAIN = 253
MAX_EMAIL = 320


@dataclass(frozen=True, slots=True)
class DomainChange:
    """The domain as kept (normalised); `changed` False: nothing to do."""

    domain: str
    changed: bool


@dataclass(frozen=True, slots=True)
class LinkChange:
    """A manual link made or removed.

    `accounts`: how many accounts SendGrid lists with this e-mail are now
    the person's (0: the link waits for a sync to find one). `previous`:
    the person it was linked to before, if any.
    """

    email: str
    person_id: int
    accounts: int
    previous: int | None


def _domain(domain: str) -> str:
    """The normalised domain, or Refused when it is not one."""
    key = domain_key(domain)
    if "@" in key:
        raise Refused(
            f"{domain.strip()!r} is an e-mail address; give its domain, like "
            f"{key.rpartition('@')[2]!r}",
            field="domain",
        )
    labels = key.split(".")
    if (
        len(key) > MAX_DOMAIN
        or len(labels) < 2
        or not all(len(label) <= 63 and _LABEL.match(label) for label in labels)
    ):
        raise Refused(
            f"{domain.strip()!r} is not a domain name, like example.com", field="domain"
        )
    return key


def _email(email: str) -> str:
    """The e-mail as given (trimmed), or Refused when it is not one."""
    given = email.strip()
    key = email_key(given)
    local, at, domain = key.rpartition("@")
    if not at or not local or not domain or len(given) > MAX_EMAIL:
        raise Refused(f"{given!r} is not an e-mail address", field="email")
    if any(c.isspace() or not c.isprintable() for c in given):
        raise Refused(f"{given!r} is not an e-mail address", field="email")
    # NFKC can lengthen it (a ligature "ﬃ" is "ffi"): the key is stored too.
    if len(key) > MAX_EMAIL:
        raise Refused(
            f"the e-mail address is {len(key):,} characters long once normalised "
            f"(at most {MAX_EMAIL})",
            field="email",
        )
    return given


def list_domains(engine: Engine) -> tuple[CompanyDomain, ...]:
    with read_session(engine) as session:
        return tuple(links.list_domains(session))


def add_domain(
    engine: Engine, domain: str, *, now: dt.datetime, audit_as: Actor | None = None
) -> DomainChange:
    """Name a company domain: its accounts with no person become unknown_internal."""
    key = _domain(domain)
    with Session(engine) as session, session.begin():
        added = links.add_domain(session, key, now)
        if added:
            record(session, audit_as, "company_domain.add", key)
    if added:
        directory_changed(engine, now=now)
    return DomainChange(key, added)


def remove_domain(
    engine: Engine, domain: str, *, now: dt.datetime, audit_as: Actor | None = None
) -> DomainChange:
    """Forget a company domain (Refused not_found when it is not one)."""
    key = domain_key(domain)
    with Session(engine) as session, session.begin():
        removed = links.remove_domain(session, key)
        if removed:
            record(session, audit_as, "company_domain.remove", key)
    if not removed:
        raise Refused(
            f"{key!r} is not a company domain", kind="not_found", field="domain"
        )
    directory_changed(engine, now=now)
    return DomainChange(key, True)


def link_account(
    engine: Engine,
    email: str,
    person_id: int,
    *,
    actor: str | None,
    now: dt.datetime,
    audit_as: Actor | None = None,
) -> LinkChange:
    """Link an account e-mail to a person; it wins over matching by e-mail.

    Any person may be linked, `gone` ones included (the account is then a
    leaver); an e-mail no account has yet is linked for the next sync.
    """
    given = _email(email)
    with Session(engine) as session, session.begin():
        exists = 1 <= person_id <= MAX_ID and get_person(session, person_id)
        if not exists:
            raise Refused(f"no person {person_id}", kind="not_found", field="person_id")
        before = links.get_link(session, given)
        links.save_link(session, given, person_id, created_by=actor, now=now)
        by = named(actor, audit_as)
        record(session, by, "account_link.add", given, {"person_id": person_id})
    # Only this e-mail's accounts can change: the link is all that moved.
    claims_changed(engine, [email_key(given)], now=now)
    with read_session(engine) as session:
        accounts = links.linked_accounts(session, given, person_id)
    previous = before.person_id if before and before.person_id != person_id else None
    return LinkChange(given, person_id, accounts, previous)


def unlink_account(
    engine: Engine, email: str, *, now: dt.datetime, audit_as: Actor | None = None
) -> LinkChange:
    """Remove an e-mail's manual link (Refused not_found when it has none);
    its accounts are matched by e-mail again."""
    given = email.strip()
    with Session(engine) as session, session.begin():
        before = links.get_link(session, given)
        if before is None or not links.delete_link(session, given):
            raise Refused(
                f"{given!r} is not linked to anyone", kind="not_found", field="email"
            )
        gone = {"person_id": before.person_id}
        record(session, audit_as, "account_link.remove", before.email, gone)
    claims_changed(engine, [email_key(given)], now=now)
    return LinkChange(before.email, before.person_id, 0, before.person_id)


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
