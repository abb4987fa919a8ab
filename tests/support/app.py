"""An SMP server app wired to an in-process simulator, with an admin and a viewer.

Shared by the API, web, CLI and browser tests. Ground truth comes from the
simulator's world, never from SMP's own output.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

import httpx
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tests.support.simulator import Setup, key_of, wire_up

from smp.model.users import UserRole
from smp.runtime.server_config import ServerConfig
from smp.server import create_app
from smp.services.users import create_user
from smp.simulator import World, generate_world
from smp.storage.users import create_api_token

PASSWORD = "correct horse battery staple"


def small_world(seed: int = 11) -> World:
    return generate_world(
        seed=seed, accounts=1, teammates=40, pending=4, subusers=4, months=6, invoices=6
    )


@dataclass
class Server:
    setup: Setup
    app: FastAPI
    admin: str
    viewer: str
    admin_token: str
    viewer_token: str

    @property
    def world(self) -> World:
        return self.setup.world

    def key(self, kind: str) -> str:
        return key_of(self.world, kind).key

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


def make_users(engine: Engine) -> tuple[str, str, str, str]:
    suffix = uuid.uuid4().hex[:6]
    admin, viewer = f"admin-{suffix}", f"viewer-{suffix}"
    with Session(engine) as session, session.begin():
        create_user(session, admin, PASSWORD, UserRole.ADMIN)
        create_user(session, viewer, PASSWORD, UserRole.VIEWER)
        _, admin_token = create_api_token(session, admin, "test")
        _, viewer_token = create_api_token(session, viewer, "test")
    return admin, viewer, admin_token, viewer_token


def make_server(
    engine: Engine, world: World | None = None, config: ServerConfig | None = None
) -> Server:
    setup = wire_up(world or small_world(), engine)
    app = create_app(
        engine,
        setup.box,
        setup.context,
        scheduler=False,
        config=config or ServerConfig(),
    )
    return Server(setup, app, *make_users(engine))


def asgi_client(srv: Server) -> httpx.AsyncClient:
    """A client of the app in process."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=srv.app), base_url="http://testserver"
    )


def slot_of(kind: str) -> str:
    return "billing" if kind == "billing" else "access"


async def connect_and_sync(
    srv: Server, name: str, kinds: tuple[str, ...] = ("full", "billing")
) -> int:
    """Connect the world's keys of `kinds` through the API; wait for the first sync."""
    async with asgi_client(srv) as client:
        answer = await client.post(
            "/api/v1/integrations",
            headers=srv.auth(srv.admin_token),
            json={
                "name": name,
                "keys": [
                    {"label": kind, "key": srv.key(kind), "slot": slot_of(kind)}
                    for kind in kinds
                ],
                "billing_account_confirmed": "billing" in kinds,
            },
        )
        assert answer.status_code == 201, answer.text
        integration_id = int(answer.json()["integration"]["id"])
        await srv.app.state.smp.syncs.wait(integration_id)
    return integration_id


# --- ground truth from the world -----------------------------------------------------

USER_TYPE_ROLE = {"owner": "owner", "admin": "admin", "teammate": "user"}


def roles_in_world(world: World) -> Counter[str]:
    return Counter(USER_TYPE_ROLE[t["user_type"]] for t in world.accounts[0].teammates)


def invoice_total(world: World) -> Decimal:
    return sum(
        (Decimal(str(i["amount"])) for i in world.accounts[0].invoices), Decimal()
    )


def utilization(world: World) -> float:
    credits = world.accounts[0].credits
    return float(credits["used"]) / float(credits["total"])
