"""`smp integrations list|rename|remove` and `smp service-account remove NAME KEY`.

An integration is connected and synced against the simulator first, so every
table holds its rows; `remove --yes` must leave none of them, in any table of
the metadata (a table added later is covered too). Expected keys and counts
come from the simulator's world.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from sqlalchemy import Engine, String, func, select, text
from sqlalchemy.orm import Session
from tests.cli.clikit import smp
from tests.support.app import Server, asgi_client, connect_and_sync
from tests.support.simulator import forget_world, key_of, new_key

from smp.cli import confirm
from smp.services.onboarding import add_key
from smp.storage.search import FTS_TABLE
from smp.storage.tables import Base, IntegrationRow
from smp.sync.engine import run_sync


def connected(srv: Server) -> str:
    """A freshly named integration of the world's account, synced once."""
    forget_world(srv.setup.engine, srv.world)
    name = f"Doomed {uuid.uuid4().hex[:8]}"
    asyncio.run(connect_and_sync(srv, name))
    return name


async def add_validation_key(srv: Server, name: str) -> None:
    """The e-mail validation key too, and a sync, so validation jobs are stored."""
    setup = srv.setup
    key = new_key(srv.world, "validation")
    await add_key(setup.engine, setup.box, name, key, setup.context)
    await run_sync(setup.engine, setup.box, name, setup.context)


def make_bystander(srv: Server) -> str:
    """An integration without keys that no removal may touch."""
    name = f"Bystander {uuid.uuid4().hex[:8]}"

    async def create() -> None:
        async with asgi_client(srv) as client:
            made = await client.post(
                "/api/v1/integrations",
                headers=srv.auth(srv.admin_token),
                json={"name": name, "keys": []},
            )
            assert made.status_code == 201, made.text

    asyncio.run(create())
    return name


def owned_rows(engine: Engine, integration_id: int) -> dict[str, set[object]]:
    """Primary keys of the rows each table holds for the integration."""
    owned: dict[str, set[object]] = {}
    with Session(engine) as session:
        for table in Base.metadata.sorted_tables:
            if "integration_id" not in table.c and table.name != "integrations":
                continue
            where = (
                table.c.id if table.name == "integrations" else table.c.integration_id
            )
            pk = next(iter(table.primary_key.columns))
            found = session.scalars(select(pk).where(where == integration_id))
            owned[table.name] = set(found)
    return owned


# Evidence outlives the integration. The audit trail keeps naming what was
# connected and then deleted: that is its purpose, and removing its entries
# would break its chain (docs/audit.md). A review campaign's frozen snapshot
# is what an auditor is shown later (docs/reviews.md).
EVIDENCE = {"audit_events", "review_campaigns", "review_items"}


def leftovers(
    engine: Engine, owned: dict[str, set[object]], traces: list[str]
) -> list[str]:
    """Every row, in every table, that still belongs to or names the integration."""
    found: list[str] = []
    with Session(engine) as session:
        for table in Base.metadata.sorted_tables:
            if table.name in EVIDENCE:
                continue

            def count(*where: object) -> int:
                query = select(func.count()).select_from(table).where(*where)  # noqa: B023
                return int(session.scalar(query) or 0)

            pk = next(iter(table.primary_key.columns))
            if owned.get(table.name) and count(pk.in_(owned[table.name])):
                found.append(f"{table.name}: rows of the integration")
            for column in table.c:
                for fk in column.foreign_keys:
                    gone = owned.get(fk.column.table.name)
                    if gone and count(column.in_(gone)):
                        found.append(f"{table.name}.{column.name} still points at it")
                if isinstance(column.type, String):
                    for trace in traces:
                        if count(column.contains(trace, autoescape=True)):
                            found.append(f"{table.name}.{column.name} holds {trace!r}")
        if engine.dialect.name == "sqlite":  # the search index outside the metadata
            check = f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rank) VALUES (:what, 1)"
            session.execute(text(check), {"what": "integrity-check"})
    return found


@pytest.mark.loopback
def test_remove_yes_leaves_nothing_of_the_integration(
    server: Server, engine: Engine, cli_env: None
) -> None:
    name = connected(server)
    asyncio.run(add_validation_key(server, name))
    bystander = make_bystander(server)
    with Session(engine) as session:
        integration_id = session.scalar(
            select(IntegrationRow.id).where(IntegrationRow.name == name)
        )
    assert integration_id is not None
    started = smp("reviews", "create", "Before removal", "--integrations", name)
    assert started.exit_code == 0, started.output
    owned = owned_rows(engine, integration_id)
    # Thresholds per integration are a user's setting, never a sync's (their
    # removal with the integration: tests/findings/test_lifecycle.py).
    not_synced = {"integration_locks", "finding_threshold_overrides"}
    unfilled = {t for t, rows in owned.items() if not rows} - not_synced
    assert not unfilled, f"the sync filled no rows in {unfilled}: the test proves less"
    kinds = ("full", "billing", "validation")
    key_ids = [key_of(server.world, kind).key_id for kind in kinds]
    account = server.world.accounts[0]

    refused = smp("integrations", "remove", name)  # no terminal, no --yes
    assert refused.exit_code == 2
    assert "--yes" in refused.output
    assert owned_rows(engine, integration_id) == owned

    done = smp("integrations", "remove", name, "--yes")
    assert done.exit_code == 0, done.output
    members = len(account.teammates) + len(account.pending)
    assert f"{members} members and invites" in done.output
    assert f"{len(account.invoices)} invoices" in done.output
    assert leftovers(engine, owned, [name, *key_ids]) == []
    # The campaign's snapshot of the removed integration is kept, row for row.
    kept = owned_rows(engine, integration_id)["review_items"]
    assert kept == owned["review_items"]
    listed = json.loads(smp("integrations", "list", "--json").output)
    assert [i["name"] for i in listed if i["name"] in (name, bystander)] == [bystander]


@pytest.mark.loopback
def test_list_rename_and_remove_a_key_by_label_or_key_id(
    server: Server, engine: Engine, cli_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = connected(server)
    account = server.world.accounts[0]
    full, billing = (key_of(server.world, kind) for kind in ("full", "billing"))
    listed = json.loads(smp("integrations", "list", "--json").output)
    (mine,) = [i for i in listed if i["name"] == name]
    assert set(mine) == {
        "name", "region", "account", "keys", "last_sync", "last_outcome"
    }  # fmt: skip
    assert (mine["region"], mine["account"]) == ("global", account.username)
    assert [(k["label"], k["key_id"], k["kind"]) for k in mine["keys"]] == [
        ("full", full.key_id, "full"),
        ("billing", billing.key_id, "billing"),
    ]
    assert mine["last_sync"] is not None
    assert mine["last_outcome"] is not None
    table = smp("integrations", "list").output
    assert f"SG.{full.key_id}…" in table
    assert account.username in table
    for key in (full, billing):
        assert key.key.split(".")[2] not in table + json.dumps(listed)

    new = f"Renamed {uuid.uuid4().hex[:8]}"
    assert smp("integrations", "rename", name.upper(), new).exit_code == 0
    taken = smp("integrations", "rename", new, new.lower())  # itself: allowed
    assert taken.exit_code == 0, taken.output
    clash = smp("integrations", "rename", new.lower(), make_bystander(server))
    assert clash.exit_code == 2
    assert "already exists" in clash.output
    name = new.lower()

    refused = smp("service-account", "remove", name, "full")
    assert refused.exit_code == 2
    assert "--yes" in refused.output
    monkeypatch.setattr(confirm, "stdin_is_terminal", lambda: True)
    kept = smp("service-account", "remove", name, "FULL", stdin="n\n")
    assert kept.exit_code == 1
    assert "Remove key 'full'" in kept.output
    gone = smp("service-account", "remove", name, "full", stdin="y\n")
    assert gone.exit_code == 0, gone.output
    unknown = smp("service-account", "remove", name, "full", "--yes")
    assert unknown.exit_code == 2
    assert f"SG.{billing.key_id}…" in unknown.output
    by_id = smp("service-account", "remove", name, f"SG.{billing.key_id}…", "--yes")
    assert by_id.exit_code == 0, by_id.output
    listed = json.loads(smp("integrations", "list", "--json").output)
    assert [i["keys"] for i in listed if i["name"] == name] == [[]]

    kept = smp("integrations", "remove", name, stdin="n\n")
    assert kept.exit_code == 1
    assert "This cannot be undone" in kept.output
    assert smp("integrations", "remove", name, stdin="y\n").exit_code == 0
    assert name not in smp("integrations", "list").output
