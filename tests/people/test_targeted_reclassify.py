"""`reclassify_emails`: a directory change redoes only the accounts it touches,
and they end as a full `reclassify` would leave them (SQLite and PostgreSQL).

The random series drives SCIM writes through the storage functions the SCIM
server calls (with the e-mails and person id it passes on) and links through
the service, and after each change checks that a full reclassification
finds nothing left to change. The expected values of the other tests are
written by hand from docs/people.md.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session
from tests.support.months import real_today
from tests.support.people_rows import add_people, person_row

from smp.model.people import PersonStatus, PersonType, email_key
from smp.services.people import link_account, unlink_account
from smp.storage import create_integration
from smp.storage.classifications import reclassify, reclassify_emails
from smp.storage.scim_people import (
    ScimPersonFields,
    delete_scim_person,
    insert_scim_person,
    update_scim_person,
)
from smp.storage.tables import (
    AccountClassificationRow,
    CompanyDomainRow,
    MemberRow,
    PersonRow,
    SubuserRow,
)

START = dt.datetime.combine(real_today(), dt.time(9), tzinfo=dt.UTC)


def _integration(engine: Engine, tag: str) -> int:
    with Session(engine) as session, session.begin():
        return create_integration(session, f"Mail {tag} {uuid.uuid4().hex[:6]}").id


def _accounts(
    engine: Engine, iid: int, emails: list[str], *, subusers: int = 0
) -> None:
    """Teammates with these e-mails; the last `subusers` of them are subusers."""
    with Session(engine) as session, session.begin():
        for number, email in enumerate(emails):
            if number >= len(emails) - subusers:
                session.add(
                    SubuserRow(
                        integration_id=iid, username=f"sub{number}-{iid}",
                        email=email, first_seen=START, last_seen=START,
                        synced_at=START,
                    )
                )  # fmt: skip
                continue
            session.add(
                MemberRow(
                    integration_id=iid, member_key=f"{email.lower()}#{number}",
                    email=email, username=f"user{number}", role="user",
                    status="active", first_seen=START, last_seen=START,
                )
            )  # fmt: skip


def _rows(engine: Engine, ids: list[int]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Every stored column of these integrations' accounts but the row id."""
    table = AccountClassificationRow.__table__
    columns = [c for c in table.columns if c.name != "id"]
    with engine.connect() as connection:
        found = connection.execute(
            select(*columns).where(table.c.integration_id.in_(ids))
        ).all()
    return {(r.integration_id, r.kind, r.account_key): dict(r._mapping) for r in found}


def _fields(tag: str, name: str, email: str, aliases: list[str], **more: Any) -> Any:
    return ScimPersonFields(
        user_name_key=f"{name}.{tag}",
        resource={"userName": f"{name}.{tag}"},
        email=email,
        email_key=email_key(email),
        aliases=aliases,
        first_name=None,
        last_name=None,
        employee_id=None,
        department=None,
        manager_id=None,
        type=more.get("kind", PersonType.EMPLOYEE),
        status=more.get("status", PersonStatus.ACTIVE),
    )


class _World:
    """A small estate and directory that a random series of changes works on."""

    def __init__(self, engine: Engine, rng: random.Random) -> None:
        self.engine, self.rng = engine, rng
        self.tag = uuid.uuid4().hex[:6]
        corp, other = f"corp-{self.tag}.test", f"agency-{self.tag}.test"
        names = [f"n{number}" for number in range(14)] + ["strauß"]
        self.pool = [f"{n}@{corp}" for n in names] + [f"x{n}@{other}" for n in "ab"]
        self.ids = [_integration(engine, self.tag) for _ in range(3)]
        for iid in self.ids:
            emails = [self._written(e) for e in rng.sample(self.pool, 12)]
            _accounts(engine, iid, emails, subusers=2)
        with Session(engine) as session, session.begin():
            session.add(CompanyDomainRow(domain=corp, created_at=START))
        # A file's people beside SCIM's: one e-mail in two sources is
        # ambiguous, and gone people yield to the others.
        self.people = add_people(
            engine,
            person_row(self.pool[0], now=START, source="hr"),
            person_row(self.pool[1], now=START, source="hr", status="gone"),
            person_row(self.pool[2], now=START, source="hr", aliases=[self.pool[3]]),
        )
        self.scim: dict[int, str] = {}  # live SCIM people: id -> SCIM id
        self.linked: set[str] = set()
        self.serial = 0

    def _written(self, email: str) -> str:
        """The e-mail as a source may write it: any case, ß or ss."""
        form = self.rng.choice([str.lower, str.upper, str.title])(email)
        return form.replace("ß", "ss") if self.rng.random() < 0.3 else form

    def _person(self) -> dict[str, Any]:
        return {
            "email": self._written(self.rng.choice(self.pool)),
            "aliases": [
                self._written(a)
                for a in self.rng.sample(self.pool, self.rng.randint(0, 2))
            ],
            "kind": self.rng.choice(list(PersonType)),
            "status": self.rng.choice(
                [PersonStatus.ACTIVE] * 3
                + [PersonStatus.TERMINATED, PersonStatus.LEAVE]
            ),
        }

    def change(self, now: dt.datetime) -> str:
        """One SCIM-like write or link, reclassified as SMP does; its name."""
        choices = ["create", "link"]
        if self.scim:
            choices += ["update", "update", "delete"]
        if self.linked:
            choices.append("unlink")
        what = self.rng.choice(choices)
        if what == "link":
            email = self._written(self.rng.choice(self.pool))
            person = self.rng.choice(self.people + list(self.scim))
            link_account(self.engine, email, person, actor=None, now=now)
            self.linked.add(email)
        elif what == "unlink":
            email = self.rng.choice(sorted(self.linked))
            self.linked.discard(email)
            unlink_account(self.engine, email, now=now)
        else:
            self._scim(what, now)
        return what

    def _scim(self, what: str, now: dt.datetime) -> None:
        """What smp.scim.people_storage does: write, then reclassify the
        e-mails the write reports, and the accounts matched to the person."""
        with Session(self.engine) as session, session.begin():
            if what == "create":
                self.serial += 1
                values = self._person()
                email, aliases = values.pop("email"), values.pop("aliases")
                name = f"u{self.serial}"
                fields = _fields(self.tag, name, email, aliases, **values)
                stored = insert_scim_person(session, fields, now=now)
                self.scim[stored.id] = name
                self.people.append(stored.id)
                person, claimed = stored.id, stored.claimed
            elif what == "update":
                person = self.rng.choice(sorted(self.scim))
                values = self._person()
                email, aliases = values.pop("email"), values.pop("aliases")
                fields = _fields(self.tag, self.scim[person], email, aliases, **values)
                updated = update_scim_person(session, str(person), fields, now=now)
                if not updated.matching_changed:
                    return
                claimed = updated.claimed
            else:
                person = self.rng.choice(sorted(self.scim))
                del self.scim[person]
                claimed = delete_scim_person(session, str(person), now=now).claimed
        reclassify_emails(self.engine, claimed, now=now, person_ids=[person])


@pytest.mark.parametrize("seed", [3, 8])
def test_targeted_reclassification_leaves_what_a_full_one_would(
    engine: Engine, seed: int
) -> None:
    world = _World(engine, random.Random(seed))
    reclassify(engine, now=START)
    changed = 0
    for step in range(35):
        now = START + dt.timedelta(minutes=step + 1)
        before = _rows(engine, world.ids)
        what = world.change(now)
        targeted = _rows(engine, world.ids)
        changed += targeted != before
        reclassify(engine, now=now)
        assert _rows(engine, world.ids) == targeted, f"step {step}: {what}"
    # The series did move accounts: the comparisons were not all trivial.
    assert changed >= 10


def test_a_person_who_leaves_takes_the_accounts_linked_to_them_along(
    engine: Engine,
) -> None:
    """A link by another e-mail: the person's own e-mails do not find that
    account, the person id does."""
    tag = uuid.uuid4().hex[:6]
    iid = _integration(engine, tag)
    own, desk = f"kim@corp-{tag}.test", f"desk@corp-{tag}.test"
    _accounts(engine, iid, [own, desk])
    with Session(engine) as session, session.begin():
        kim = insert_scim_person(session, _fields(tag, "kim", own, []), now=START)
    reclassify(engine, now=START)
    link_account(engine, desk, kim.id, actor=None, now=START)
    left = START + dt.timedelta(hours=1)
    with Session(engine) as session, session.begin():
        fields = _fields(tag, "kim", own, [], status=PersonStatus.TERMINATED)
        stored = update_scim_person(session, str(kim.id), fields, now=left)
    assert stored.claimed == {own}
    assert reclassify_emails(engine, stored.claimed, now=left, person_ids=[kim.id]) == 2
    found = {
        r["email"]: (r["person_id"], r["matched_by"], r["classification"])
        for r in _rows(engine, [iid]).values()
    }
    assert found == {
        own: (kim.id, "email", "leaver"),
        desk: (kim.id, "manual", "leaver"),
    }


def test_only_the_accounts_of_the_given_emails_are_looked_at(engine: Engine) -> None:
    tag = uuid.uuid4().hex[:6]
    one, two = _integration(engine, tag), _integration(engine, tag)
    ann, bob = f"ann@corp-{tag}.test", f"bob@corp-{tag}.test"
    _accounts(engine, one, [ann.upper(), bob])
    _accounts(engine, two, [ann])
    ann_id, bob_id = add_people(
        engine, person_row(ann, now=START), person_row(bob, now=START)
    )
    reclassify(engine, now=START)
    later = START + dt.timedelta(hours=2)
    with Session(engine) as session, session.begin():
        session.execute(
            update(PersonRow)
            .where(PersonRow.id.in_([ann_id, bob_id]))
            .values(status="terminated", terminated_at=later)
        )
    # Ann's accounts in both integrations, whatever the case; not Bob's.
    assert reclassify_emails(engine, [email_key(ann)], now=later) == 2
    classes = {
        (r["integration_id"], r["email_key"]): r["classification"]
        for r in _rows(engine, [one, two]).values()
    }
    assert classes == {
        (one, ann): "leaver",
        (one, bob): "employee",
        (two, ann): "leaver",
    }
    assert reclassify_emails(engine, [], now=later, person_ids=[bob_id]) == 1
    assert reclassify_emails(engine, [f"nobody@corp-{tag}.test"], now=later) == 0
    rows = _rows(engine, [one, two]).values()
    assert sorted(
        (r["email"], r["classification"], r["leaver_since"]) for r in rows
    ) == [
        (ann.upper(), "leaver", later),
        (ann, "leaver", later),
        (bob, "leaver", later),
    ]


def test_an_alias_stored_as_raw_unicode_json_is_still_found(engine: Engine) -> None:
    """SMP's JSON escapes letters past ASCII; text written otherwise (raw
    full-width letters) must still be read for its aliases."""
    tag = uuid.uuid4().hex[:6]
    iid = _integration(engine, tag)
    desk = f"desk@corp-{tag}.test"
    _accounts(engine, iid, [desk])
    (owner,) = add_people(engine, person_row(f"owner@corp-{tag}.test", now=START))
    wide = "".join(chr(ord(c) + 0xFEE0) if c.isalpha() else c for c in "DESK")
    raw = f'["{wide}@corp-{tag}.test"]'
    cast = "CAST(:raw AS JSON)" if engine.dialect.name == "postgresql" else ":raw"
    with engine.begin() as connection:
        connection.execute(
            text(f"UPDATE people SET aliases = {cast} WHERE id = :id"),
            {"raw": raw, "id": owner},
        )
    reclassify(engine, now=START)
    later = START + dt.timedelta(hours=1)
    with Session(engine) as session, session.begin():
        session.execute(
            update(PersonRow).where(PersonRow.id == owner).values(status="terminated")
        )
    assert reclassify_emails(engine, [desk], now=later) == 1
    (row,) = _rows(engine, [iid]).values()
    assert (row["person_id"], row["matched_by"], row["classification"]) == (
        owner,
        "alias",
        "leaver",
    )
