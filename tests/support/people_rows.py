"""Directory rows written straight into the tables: the ground truth of the
people reading tests (CLI, API, queries).

`seed_directory` writes people and account classifications as a
reclassification would have left them, so the readers are tested on known
rows without depending on matching. `seed_members` writes SendGrid members,
for tests whose changes (links, domains) reclassify.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from smp.model.people import email_key
from smp.storage import create_integration
from smp.storage.classifications import reclassify
from smp.storage.tables import AccountClassificationRow, MemberRow, PersonRow

# The JSON shapes, key by key, in order.
PERSON_KEYS = [
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
ACCOUNT_KEYS = [
    "integration",
    "kind",
    "email",
    "username",
    "role",
    "status",
    "person_id",
    "person_status",
    "classification",
    "matched_by",
]

# Leavers' accounts' lags, in seconds; their median is the middle one.
LAGS = (3_600, 10_000, 86_400)
MEDIAN_LAG = 10_000
# The present accounts: name (also the username), integration, kind, e-mail,
# status, person, matched_by, classification ("-": none).
ACCOUNTS = """
ada   main  teammate ada.lovelace@acme.test active  ada email  employee
zoe   main  subuser  ZOE@acme.test          active  zoe email  contractor
bob   main  teammate bob@acme.test          active  bob email  leaver
bob2  other invite   bob@acme.test          pending bob manual leaver
ext   main  teammate ext@gmail.test         active  -   -      external
unk   main  invite   who@acme.test          pending -   -      unknown_internal
amb   other teammate amb@acme.test          active  -   -      ambiguous
"""


def person_row(
    email: str,
    *,
    now: dt.datetime,
    status: str = "active",
    kind: str = "employee",
    source: str = "hr",
    **fields: Any,
) -> PersonRow:
    terminated = now if status in ("terminated", "gone") else None
    return PersonRow(
        source=source,
        email=email,
        email_key=email_key(email),
        status=status,
        type=kind,
        aliases=fields.pop("aliases", []),
        created_at=now,
        updated_at=now,
        terminated_at=terminated,
        **fields,
    )


@dataclass
class Seeded:
    """What `seed_directory` wrote: ids by short name, and the integrations."""

    integration: str
    other_integration: str
    people: dict[str, int] = field(default_factory=dict)
    # short name -> (integration name, email, classification, present)
    accounts: dict[str, tuple[str, str, str, bool]] = field(default_factory=dict)


def seed_directory(engine: Engine, now: dt.datetime) -> Seeded:
    """Five people (two active, one terminated, one gone, one on leave) and
    nine accounts in two integrations: seven present, two removed with lags."""
    tag = uuid.uuid4().hex[:6]
    with Session(engine) as session, session.begin():
        main = create_integration(session, f"Main {tag}")
        other = create_integration(session, f"Other {tag}")
        seeded = Seeded(main.name, other.name)
        rows = {
            "ada": person_row(
                "Ada.Lovelace@acme.test",
                now=now,
                employee_id="E-1001",
                first_name="Ada",
                last_name="Lovelace",
                department="Engineering",
                manager_email="boss@acme.test",
                aliases=["ada@old.test"],
            ),
            "zoe": person_row(
                "zoe@acme.test",
                now=now,
                kind="contractor",
                first_name="Zoë",
                last_name="Ångström",
                department="Design",
            ),
            "bob": person_row(
                "bob@acme.test",
                now=now,
                status="terminated",
                employee_id="E-3003",
                first_name="Bob",
                last_name="Stone",
                department="Sales",
            ),
            "gus": person_row("gus@acme.test", now=now, status="gone", source="old"),
            "lea": person_row(
                "lea@partner.test", now=now, status="leave", kind="partner"
            ),
        }
        session.add_all(rows.values())
        session.flush()
        seeded.people = {name: row.id for name, row in rows.items()}
        ids = seeded.people
        integrations = {"main": main, "other": other}
        for line in ACCOUNTS.strip().splitlines():
            words = line.split()
            name, where, kind, email, status, *optional, classification = words
            person, matched = (None if word == "-" else word for word in optional)
            iid = integrations[where].id
            session.add(
                AccountClassificationRow(
                    integration_id=iid,
                    kind=kind,
                    account_key=email.lower(),
                    email=email,
                    email_key=email_key(email),
                    username=name,
                    role=None if kind == "subuser" else "user",
                    status=status,
                    person_id=ids[person] if person else None,
                    matched_by=matched,
                    classification=classification,
                    ambiguity="people 1 and 2" if name == "amb" else None,
                    present=True,
                    leaver_since=now if classification == "leaver" else None,
                    updated_at=now,
                )
            )
            integration = main.name if iid == main.id else other.name
            seeded.accounts[name] = (integration, email, classification, True)
        for number, lag in enumerate(LAGS):
            name = f"gone{number}"
            email = f"{name}@acme.test"
            session.add(
                AccountClassificationRow(
                    integration_id=main.id,
                    kind="teammate",
                    account_key=email,
                    email=email,
                    email_key=email_key(email),
                    username=name,
                    role="user",
                    status="removed",
                    person_id=ids["gus"],
                    matched_by="alias",
                    classification="leaver",
                    present=False,
                    leaver_since=now - dt.timedelta(seconds=lag),
                    removed_at=now,
                    offboarding_lag_s=lag,
                    updated_at=now,
                )
            )
            seeded.accounts[name] = (main.name, email, "leaver", False)
    return seeded


def seed_members(
    engine: Engine, now: dt.datetime, emails: list[str], *, name: str | None = None
) -> str:
    """An integration whose active teammates have these e-mails, classified as
    its sync's end leaves them (a link or a SCIM write reclassifies only
    accounts already classified); its name."""
    with Session(engine) as session, session.begin():
        integration = create_integration(
            session, name or f"Members {uuid.uuid4().hex[:6]}"
        )
        for email in emails:
            key = email_key(email)
            session.add(
                MemberRow(
                    integration_id=integration.id,
                    member_key=key,
                    email=email,
                    username=key.partition("@")[0],
                    role="user",
                    status="active",
                    first_seen=now,
                    last_seen=now,
                )
            )
    reclassify(engine, now=now, integration_ids=[integration.id])
    return integration.name


def add_people(engine: Engine, *rows: PersonRow) -> list[int]:
    """Write people; their ids, in order."""
    with Session(engine) as session, session.begin():
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]
