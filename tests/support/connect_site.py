"""Two SendGrid accounts served over loopback, and an SMP app that connects them.

Shared by the tests of the key rules at each entry point (the CLI, the API and
the form). SMP reaches the simulator by real HTTP; the expected accounts and
keys come from the simulator's world.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from fastapi import FastAPI
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from tests.support.app import make_users
from tests.support.simulator import forget_world, key_of

from smp.cli.loopback import serve_simulator
from smp.runtime.server_config import ServerConfig
from smp.server import create_app
from smp.simulator import SimKey, Simulator, World, generate_world
from smp.storage import SecretBox, generate_key
from smp.storage.tables import AccountIdentityRow, IntegrationRow, ServiceAccountRow
from smp.sync import SyncContext


def two_accounts() -> World:
    return generate_world(
        seed=31, accounts=2, teammates=6, pending=1, subusers=1, months=2, invoices=2
    )


@dataclass(frozen=True)
class Stored:
    """What a refused connection must leave as it was."""

    integrations: int
    keys: int
    identities: int
    confirmed: int


def stored(engine: Engine) -> Stored:
    with Session(engine) as session:

        def count(*where: object) -> int:
            return int(session.scalar(select(func.count()).where(*where)) or 0)

        return Stored(
            integrations=count(IntegrationRow.id.is_not(None)),
            keys=count(ServiceAccountRow.id.is_not(None)),
            identities=count(AccountIdentityRow.integration_id.is_not(None)),
            confirmed=count(IntegrationRow.billing_confirmed_by.is_not(None)),
        )


@dataclass
class Site:
    world: World
    engine: Engine
    app: FastAPI
    sim_url: str
    admin: str
    admin_token: str

    def key(self, kind: str, account: int = 0) -> SimKey:
        return key_of(self.world, kind, self.world.accounts[account])

    def username(self, account: int) -> str:
        return self.world.accounts[account].username

    def fresh(self) -> None:
        """Forget what earlier tests connected (the module shares the database)."""
        forget_world(self.engine, self.world)

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app, client=("127.0.0.1", 50000)),
            base_url="http://testserver",
            headers=headers,
        )


@contextmanager
def open_site(engine: Engine) -> Iterator[Site]:
    world = two_accounts()
    with serve_simulator(Simulator(world)) as sim_url:
        app = create_app(
            engine,
            SecretBox.from_key(generate_key()),
            SyncContext(),
            scheduler=False,
            config=ServerConfig(sendgrid_base_url=sim_url),
        )
        admin, _, admin_token, _ = make_users(engine)
        yield Site(world, engine, app, sim_url, admin, admin_token)
