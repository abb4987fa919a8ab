"""One real `smp serve` over http and one over https per database, for the session.

Both serve a simulator world whose member names are HTML; an integration
named with HTML is connected through the API and synced before the tests, and
a directory of the teammates (their HTML names too) is imported by the CLI.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.security.site import (
    CHANNEL_NAME,
    CHANNEL_URL,
    INTEGRATION_NAME,
    KEY_LABEL,
    REVIEW_NAME,
    Site,
    wait_for_run,
)
from tests.support.app import make_users
from tests.support.databases import postgres_schema
from tests.support.serving import SmpHome, html_world, self_signed
from tests.support.simulator import key_of, serve_simulator

from smp.simulator import Simulator, World
from smp.storage import make_engine, migrate


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
                people = _import_directory(home, world, folder / "people.csv")
                email = people[0]["email"]
                found = api.get("/api/v1/people", params={"q": email}).json()
                person_id = int(found["items"][0]["id"])
                # The terminated first teammate is a leaver with access.
                assert home.run("findings", "evaluate").returncode == 0
                leavers = api.get(
                    "/api/v1/findings", params={"rule": "leaver_with_access"}
                ).json()["items"]
                finding_id = int(leavers[0]["id"])
                # A teammate named with HTML, whose item shows the name.
                named = world.accounts[0].teammates[1]["email"]
                extra = _reviews_and_alerts(api, iid, named)
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
                person_id=person_id,
                people=people,
                finding_id=finding_id,
                **extra,
            )


def _reviews_and_alerts(api: httpx.Client, iid: int, email: str) -> dict[str, Any]:
    """An alert channel, a key's history and a review campaign with items,
    each named with HTML; making them fills the audit trail too."""
    channel = api.post(
        "/api/v1/alert-channels",
        json={
            "name": CHANNEL_NAME,
            "kind": "webhook",
            "url": CHANNEL_URL,
            "hmac_secret": "a long enough shared secret",
        },
    )
    assert channel.status_code == 201, channel.text
    keys = api.get("/api/v1/api-keys", params={"integration": iid}).json()["items"]
    campaign = api.post(
        "/api/v1/reviews", json={"name": REVIEW_NAME, "integrations": [str(iid)]}
    )
    assert campaign.status_code == 201, campaign.text
    campaign_id = int(campaign.json()["id"])
    items = api.get(
        f"/api/v1/reviews/{campaign_id}/items", params={"limit": 500}
    ).json()["items"]
    item_id = next(i["item_id"] for i in items if i["email"] == email)
    return {
        "channel_id": int(channel.json()["channel"]["id"]),
        "key_id": str(keys[0]["key_id"]),
        "campaign_id": campaign_id,
        "item_id": int(item_id),
    }


def _import_directory(home: SmpHome, world: World, path: Path) -> list[dict[str, str]]:
    """The world's teammates as people (the first terminated); the rows written."""
    people = [
        {
            "email": t["email"],
            "first_name": t["first_name"] or "",
            "last_name": t["last_name"] or "",
            "status": "terminated" if index == 0 else "active",
        }
        for index, t in enumerate(world.accounts[0].teammates)
    ]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(people[0]))
    writer.writeheader()
    writer.writerows(people)
    path.write_text(out.getvalue(), encoding="utf-8")
    done = home.run("people", "import", str(path), "--json")
    assert done.returncode == 0, done.stderr
    return people
