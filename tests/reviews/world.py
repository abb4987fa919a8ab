"""A synced simulator world with a directory and SMP users, for review tests.

The teammates are all in the directory: the first half managed by
`maria.manager@corp.example` (an SMP user `maria.manager` exists), the rest
by a manager who is no SMP user. The integration's named reviewer is `olga`.
The first invite has expired. The managers' domain `corp.example` is the
company's (a manager is matched to an SMP user only on a company domain); the
accounts' own domain is not, so both invites are external.
What the tests expect is read off the world and these literals, not SMP.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tests.support.directory_files import HEADER, csv_text, person
from tests.support.simulator import synced, wire_up

from smp.model.users import UserRole
from smp.services.people import add_domain
from smp.services.people_import import import_people
from smp.services.reviews import Actor
from smp.simulator import World, generate_world
from smp.storage.users import insert_user

MANAGER = "maria.manager@corp.example"
NO_USER_MANAGER = "nobody.here@corp.example"
MANAGER_USER = "maria.manager"
OWNER_USER = "olga"
ADMIN = Actor("root", True, "test")
MARIA = Actor(MANAGER_USER, False, "test")
OLGA = Actor(OWNER_USER, False, "test")


@dataclass(frozen=True)
class ReviewWorld:
    world: World
    engine: Engine
    integration_id: int
    name: str
    now: dt.datetime


def department(index: int) -> str:
    return "Marketing" if index % 2 == 0 else "Engineering"


def manager(index: int, count: int) -> str:
    return MANAGER if index < count // 2 else NO_USER_MANAGER


def build(engine: Engine, name: str) -> ReviewWorld:
    world = generate_world(seed=41, accounts=1, teammates=8, pending=2, subusers=2)
    # The first invite expired 10 days ago: an open `expired_invite` finding.
    expired = dt.datetime.combine(world.today_date(), dt.time(12), tzinfo=dt.UTC)
    world.accounts[0].pending[0]["expiration_date"] = int(
        (expired - dt.timedelta(days=10)).timestamp()
    )
    setup = wire_up(world, engine)
    iid = asyncio.run(synced(setup, name))
    now = setup.context.now()
    mates = world.accounts[0].teammates
    rows = [list(HEADER)] + [
        person(
            t["email"],
            first_name=t["first_name"],
            last_name=t["last_name"],
            department=department(i),
            manager_email=manager(i, len(mates)),
            status="active",
            type="employee",
        )
        for i, t in enumerate(mates)
    ]
    report = import_people(
        engine, csv_text(rows).encode(), filename="people.csv", now=now
    )
    assert report.errors == ()
    add_domain(engine, "corp.example", now=now)
    with Session(engine) as session, session.begin():
        for user, role in (
            (MANAGER_USER, UserRole.VIEWER),
            (OWNER_USER, UserRole.VIEWER),
        ):
            insert_user(session, user, role, "scrypt$not-a-login", now=now)
    return ReviewWorld(world, engine, iid, name, now)
