"""An employee directory that matches a simulated world, with its ground truth.

`smp simulator people` prints it as the CSV `smp people import` reads, so a
test can import it, sync the world and compare every account's stored
classification with `DirectoryTruth.accounts`. The truth is worked out here,
from the world alone (the simulator imports nothing else from smp), by the
rules of docs/people.md:

- `terminated` people whose accounts are still present: `leaver`;
- `externals` accounts on a domain that is not the company's, with no person:
  `external` (the world's last e-mail domain is then a partner agency's: its
  other accounts belong to people of type `partner`);
- about one company account in twelve has no person: `unknown_internal`;
- the rest are matched: subusers to `service` people, others to employees,
  contractors and partners, some on leave (still their type), one in five by
  an alias (the person's primary e-mail is another address), and one in four
  written in capitals, which matching must ignore.

No account is `ambiguous`: one file never gives an e-mail to two rows (the
import refuses it), so two people claim one e-mail only across sources; the
acceptance test adds such a second source itself.

The same world, seed and counts give the same file and truth.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from dataclasses import asdict, dataclass, field
from typing import Literal

from smp.simulator.world import World

Kind = Literal["teammate", "invite", "subuser"]
MatchedBy = Literal["email", "alias"]
COLUMNS = (
    "email",
    "employee_id",
    "first_name",
    "last_name",
    "department",
    "manager_email",
    "status",
    "type",
    "start_date",
    "end_date",
    "aliases",
)
DEPARTMENTS = ("Engineering", "Marketing", "Sales", "Support", "Finance", "Operations")
# One company account in this many has no person (at least one).
UNKNOWN_EVERY = 12


class DirectoryError(ValueError):
    """Counts the world cannot satisfy; the message names the option."""


@dataclass(frozen=True, slots=True)
class AccountTruth:
    """What SMP must conclude about one account of the world."""

    account: str  # the world account's username (one SMP integration)
    kind: Kind
    email: str
    username: str | None
    classification: str
    matched_by: MatchedBy | None
    # The person's primary e-mail as the file gives it, when matched.
    person_email: str | None


@dataclass(slots=True)
class _Person:
    email: str
    first_name: str
    last_name: str
    status: str = "active"
    type: str = "employee"
    aliases: list[str] = field(default_factory=list)
    end_date: dt.date | None = None


@dataclass(frozen=True, slots=True)
class DirectoryTruth:
    seed: int
    today: str
    company_domains: tuple[str, ...]
    people: int
    accounts: tuple[AccountTruth, ...]

    def to_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class _Listed:
    account: str
    kind: Kind
    email: str
    username: str | None
    first_name: str
    last_name: str


def _listed(world: World) -> list[_Listed]:
    found: list[_Listed] = []
    for account in world.accounts:
        for mate in account.teammates:
            found.append(
                _Listed(
                    account.username,
                    "teammate",
                    mate["email"],
                    mate["username"],
                    mate["first_name"],
                    mate["last_name"],
                )
            )
        for invite in account.pending:
            local = invite["email"].partition("@")[0]
            found.append(
                _Listed(account.username, "invite", invite["email"], None, local, "")
            )
        for sub in account.subusers:
            found.append(
                _Listed(
                    account.username,
                    "subuser",
                    sub.email,
                    sub.username,
                    sub.first_name,
                    sub.last_name,
                )
            )
    return found


def _key(email: str) -> str:
    # The world's e-mails are ASCII: lower-casing is the whole normalisation.
    return email.strip().lower()


def _domain(email: str) -> str:
    return _key(email).rpartition("@")[2]


class _Builder:
    """Decides each distinct e-mail's fate and the people who claim it."""

    def __init__(self, world: World, seed: int) -> None:
        self.rng = random.Random(f"directory:{seed}")
        self.today = world.today_date()
        self.listed = _listed(world)
        self.taken = {_key(a.email) for a in self.listed}
        self.people: list[_Person] = []
        # e-mail key -> (classification, matched_by, person)
        self.fate: dict[str, tuple[str, MatchedBy | None, _Person | None]] = {}

    def fresh_email(self, local: str, domain: str) -> str:
        """An address no account uses, for a person's other e-mail."""
        candidate, number = f"{local}@{domain}", 1
        while _key(candidate) in self.taken:
            number += 1
            candidate = f"{local}{number}@{domain}"
        self.taken.add(_key(candidate))
        return candidate

    def person(
        self,
        listed: _Listed,
        email: str,
        *,
        status: str = "active",
        kind: str = "employee",
        aliases: tuple[str, ...] = (),
        end_date: dt.date | None = None,
    ) -> _Person:
        """A person of the file, named like the account they are made for."""
        made = _Person(
            email,
            listed.first_name,
            listed.last_name,
            status,
            kind,
            list(aliases),
            end_date,
        )
        self.people.append(made)
        return made

    def distinct(self, domains: set[str]) -> list[_Listed]:
        """The first account of each distinct e-mail on these domains, shuffled."""
        seen: dict[str, _Listed] = {}
        for listed in self.listed:
            if _domain(listed.email) in domains:
                seen.setdefault(_key(listed.email), listed)
        chosen = list(seen.values())
        self.rng.shuffle(chosen)
        return chosen


def directory(
    world: World, *, seed: int, terminated: int = 2, externals: int = 2
) -> tuple[str, DirectoryTruth]:
    """The directory CSV for `world`, and what SMP must find for each account."""
    if terminated < 0 or externals < 0:
        raise DirectoryError("--terminated and --externals must be 0 or more")
    build = _Builder(world, seed)
    domains = list(dict.fromkeys(_domain(a.email) for a in build.listed))
    outside: set[str] = set()
    if externals:
        if len(domains) < 2:
            raise DirectoryError(
                "--externals: the world has one e-mail domain, so no account can be "
                "outside the company; use --accounts 2 or more, or --externals 0"
            )
        outside = {domains[-1]}
    company = [d for d in domains if d not in outside]
    _outside(build, outside, externals)
    _company(build, set(company), terminated)
    truth = DirectoryTruth(
        seed=seed,
        today=build.today.isoformat(),
        company_domains=tuple(company),
        people=len(build.people),
        accounts=tuple(_truth(build, listed) for listed in build.listed),
    )
    return _csv(build), truth


def _outside(build: _Builder, domains: set[str], externals: int) -> None:
    chosen = build.distinct(domains)
    if externals > len(chosen):
        raise DirectoryError(
            f"--externals: {externals} asked, but the partner domain has only "
            f"{len(chosen)} accounts"
        )
    for number, listed in enumerate(chosen):
        key = _key(listed.email)
        if number < externals:
            build.fate[key] = ("external", None, None)
            continue
        partner = build.person(listed, listed.email, kind="partner")
        build.fate[key] = ("partner", "email", partner)


def _company(build: _Builder, domains: set[str], terminated: int) -> None:
    chosen = build.distinct(domains)
    if terminated > len(chosen):
        raise DirectoryError(
            f"--terminated: {terminated} asked, but the company has only "
            f"{len(chosen)} accounts"
        )
    unknown = max(1, len(chosen) // UNKNOWN_EVERY) if len(chosen) > terminated else 0
    for number, listed in enumerate(chosen):
        key = _key(listed.email)
        if number < terminated:
            ended = build.today - dt.timedelta(days=3 + number)
            person = build.person(
                listed, listed.email, status="terminated", end_date=ended
            )
            build.fate[key] = ("leaver", "email", person)
        elif number < terminated + unknown:
            build.fate[key] = ("unknown_internal", None, None)
        else:
            _matched(build, listed, number)


def _matched(build: _Builder, listed: _Listed, number: int) -> None:
    kind = "employee"
    if listed.kind == "subuser":
        kind = "service"
    elif number % 7 == 3:
        kind = "contractor"
    elif number % 11 == 5:
        kind = "partner"
    status = "leave" if number % 9 == 4 else "active"
    email = listed.email.upper() if number % 4 == 1 else listed.email
    if number % 5 == 2:
        # Known to HR by another address; the account's is an alias.
        local = listed.email.partition("@")[0]
        primary = build.fresh_email(f"{local}.hr", _domain(listed.email))
        person = build.person(
            listed, primary, status=status, kind=kind, aliases=(email,)
        )
        build.fate[_key(listed.email)] = (kind, "alias", person)
        return
    person = build.person(listed, email, status=status, kind=kind)
    build.fate[_key(listed.email)] = (kind, "email", person)


def _truth(build: _Builder, listed: _Listed) -> AccountTruth:
    classification, how, person = build.fate[_key(listed.email)]
    return AccountTruth(
        account=listed.account,
        kind=listed.kind,
        email=listed.email,
        username=listed.username,
        classification=classification,
        matched_by=how,
        person_email=person.email if person else None,
    )


def _csv(build: _Builder) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for number, person in enumerate(build.people, start=1):
        started = build.today - dt.timedelta(days=90 + (number * 37) % 2000)
        if person.end_date is not None:
            # Many terminated people end far back: each started before leaving.
            started = min(started, person.end_date - dt.timedelta(days=30))
        writer.writerow(
            (
                person.email,
                f"E{number:05d}",
                person.first_name,
                person.last_name,
                DEPARTMENTS[number % len(DEPARTMENTS)],
                "",
                person.status,
                person.type,
                started.isoformat(),
                person.end_date.isoformat() if person.end_date else "",
                ";".join(person.aliases),
            )
        )
    return out.getvalue()
