"""One real `smp serve` over http and one over https per database, for the session.

Both serve a simulator world whose member names are HTML; an integration
named with HTML is connected through the API and synced before the tests.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from tests.api.appkit import PASSWORD, make_users
from tests.db_fixtures import postgres_schema
from tests.security.serving import Served, SmpHome, html_world, self_signed
from tests.support.simulator import key_of, serve_simulator

from smp.simulator import Simulator, World
from smp.storage import make_engine, migrate

INTEGRATION_NAME = "<img src=x onerror=alert('integration')>"
KEY_LABEL = "<b>full key</b>"


@dataclass
class Site:
    world: World
    home: SmpHome
    http: Served
    https: Served
    admin: str
    viewer: str
    admin_token: str
    viewer_token: str
    integration_id: int
    service_account_id: int
    run_id: int

    @property
    def database(self) -> str:
        return "postgresql" if self.home.database_url else "sqlite"

    def bearer(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def api(self, token: str) -> httpx.Client:
        return self.http.client(headers=self.bearer(token))

    def path_values(self, name: str) -> dict[str, str]:
        return {
            "integration_id": str(self.integration_id),
            "service_account_id": str(self.service_account_id),
            "sa_id": str(self.service_account_id),
            "run_id": str(self.run_id),
            "dataset": "members",
            "name": name,
            # Nobody's token: revoking it is refused, and no test loses its own.
            "token_id": str(2**31 - 1),
        }


def log_in(client: httpx.Client, name: str, password: str = PASSWORD) -> httpx.Response:
    client.get("/login")
    token = client.cookies.get("smp_login_csrf", path="/login")
    return client.post(
        "/login", data={"username": name, "password": password, "csrf_token": token}
    )


@contextmanager
def sign_in(served: Served, name: str) -> Iterator[httpx.Client]:
    """A client holding a fresh session of `name`."""
    with served.client() as client:
        answer = log_in(client, name)
        assert answer.status_code == 303, answer.text
        yield client


def wait_for_run(client: httpx.Client, integration_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runs = client.get("/api/v1/sync-runs", params={"integration": integration_id})
        items = runs.json()["items"]
        if items and items[0]["finished_at"]:
            return dict(items[0])
        time.sleep(0.1)
    raise AssertionError("the first sync did not finish")


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str | None]:
    """None: SQLite in SMP_HOME; else a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield None
        return
    base: str = request.getfixturevalue("postgres_url")
    with postgres_schema(base, "smp_security") as url:
        yield url


@pytest.fixture(scope="session")
def site(
    tmp_path_factory: pytest.TempPathFactory, database_url: str | None
) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("security")
    world = html_world()
    home = SmpHome(folder / "home", database_url=database_url)
    home.folder.mkdir()
    engine = make_engine(home.url)
    migrate(engine)
    users = make_users(engine)
    engine.dispose()
    tls = self_signed(folder)
    sim = Simulator(world, rate_limit=None)
    with serve_simulator(sim) as sim_url:
        options = ("--no-scheduler", "--sendgrid-url", sim_url)
        with home.serve(*options) as http, home.serve(*options, tls=tls) as https:
            with http.client(headers={"Authorization": f"Bearer {users[2]}"}) as api:
                created = api.post(
                    "/api/v1/integrations",
                    json={
                        "name": INTEGRATION_NAME,
                        "keys": [
                            {"label": KEY_LABEL, "key": key_of(world, "full").key},
                            {
                                "label": "billing",
                                "key": key_of(world, "billing").key,
                                "slot": "billing",
                            },
                        ],
                        "billing_account_confirmed": True,
                    },
                )
                assert created.status_code == 201, created.text
                body = created.json()
                iid = int(body["integration"]["id"])
                run = wait_for_run(api, iid)
            assert run["outcome"] == "ok", run
            yield Site(
                world,
                home,
                http,
                https,
                *users,
                integration_id=iid,
                service_account_id=int(
                    body["service_accounts"][0]["service_account"]["id"]
                ),
                run_id=int(run["id"]),
            )
