"""`smp api-keys` and `smp export` (over loopback HTTP, as a user runs them) and
`GET /api/v1/api-keys`: the world's keys, their exact JSON shape, and the dates
SendGrid does not give."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.app import Server, asgi_client
from tests.support.simulator import serve_simulator
from tests.support.web import sign_in, web_client
from typer.testing import CliRunner

from smp.cli.main import app
from smp.simulator import Simulator, World, generate_world

FIELDS = [
    "key_id",
    "name",
    "scopes",
    "first_seen",
    "last_seen",
    "full_access",
    "write_scopes",
]


def run(*args: str) -> str:
    """The output of `smp ARGS`, which must succeed."""
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _writes(scopes: list[str]) -> list[str]:
    verbs = {"create", "update", "delete"}
    return sorted(
        s for s in scopes if s.rsplit(".", 1)[-1] in verbs or s == "mail.send"
    )


def _expected(world: World) -> dict[str, tuple[str, list[str], bool, list[str]]]:
    """key id -> (name, scopes, full access, write scopes), from the world."""
    username = world.accounts[0].username
    return {
        k.key_id: (k.name, sorted(k.scopes), k.kind == "full", _writes(k.scopes))
        for k in world.keys
        if k.account == username and k.kind != "revoked"
    }


@pytest.fixture
def served(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[World, str]]:
    world = generate_world(seed=8, accounts=1, teammates=5, pending=1, subusers=1)
    for key in world.keys:
        monkeypatch.setenv(f"SG_{key.kind.upper()}", key.key)
    with serve_simulator(Simulator(world)) as base_url:
        yield world, base_url


@pytest.mark.loopback
def test_cli_lists_the_worlds_keys_and_says_what_sendgrid_does_not_give(
    served: tuple[World, str], home: Path
) -> None:
    world, base_url = served
    before = dt.datetime.now(dt.UTC)
    run("connect", "sendgrid", "Keyed", "--key-env", "SG_FULL", "--base-url", base_url)
    run("sync", "Keyed")
    listed = json.loads(run("api-keys", "Keyed", "--json"))
    assert all(list(item) == FIELDS for item in listed)
    got = {
        k["key_id"]: (k["name"], k["scopes"], k["full_access"], k["write_scopes"])
        for k in listed
    }
    assert got == _expected(world)
    # Only the restricted key cannot change anything.
    assert [v[0] for v in got.values() if not v[3]] == [
        k.name for k in world.keys if k.kind == "restricted"
    ]
    for item in listed:
        seen = dt.datetime.fromisoformat(item["first_seen"])
        assert before - dt.timedelta(seconds=5) <= seen <= dt.datetime.now(dt.UTC)
        assert item["last_seen"] == item["first_seen"]
    shown = " ".join(run("api-keys", "Keyed").split())
    assert "not available from SendGrid" in shown
    assert all(name in shown for name, *_ in got.values())
    out = home.parent / "exported"
    run("export", "Keyed", "--format", "csv", "--out", str(out))
    (exported,) = out.glob("*-api_keys.csv")
    with exported.open(newline="", encoding="utf-8") as file:
        # A key id may start with "-": the CSV guards it against formulas.
        table = {r["key_id"].removeprefix("'"): r for r in csv.DictReader(file)}
    assert {k: (r["name"], r["scopes"].split()) for k, r in table.items()} == {
        k: (name, scopes) for k, (name, scopes, _, _) in _expected(world).items()
    }
    assert {r["created_and_last_used"] for r in table.values()} == {
        "not available from SendGrid"
    }
    (mates_file,) = out.glob("*-teammate_scopes.csv")
    with mates_file.open(newline="", encoding="utf-8") as file:
        mates = {r["username"]: r for r in csv.DictReader(file)}
    world_mates = {t["username"]: t for t in world.accounts[0].teammates}
    assert set(mates) == set(world_mates)  # five teammates: all read at once
    for username, row in mates.items():
        given = world_mates[username]["scopes"]
        assert row["scopes"].split() == sorted(s for s in given if "." in s)
        assert row["two_factor_exempt"] == str("2fa_exempt" in given)
    missing = CliRunner().invoke(app, ["api-keys", "No such"])
    assert missing.exit_code == 2
    assert len(missing.output.strip().splitlines()) == 1
    assert "Traceback" not in missing.output


def test_api_lists_the_inventory_of_an_integration(server: Server, synced: int) -> None:
    iid = synced

    async def get(params: dict[str, object]) -> tuple[int, dict]:
        async with asgi_client(server) as client:
            answer = await client.get(
                "/api/v1/api-keys",
                params=params,
                headers=server.auth(server.viewer_token),
            )
        return answer.status_code, answer.json()

    status, body = asyncio.run(get({"integration": iid}))
    assert status == 200
    assert body["total"] == len(_expected(server.world))
    assert "not available from SendGrid" in body["dates"]
    assert body["unreadable"] is None
    assert {
        k["key_id"]: (
            k["name"],
            k["scopes"],
            k["full_access"],
            k["write_scopes"],
        )
        for k in body["items"]
    } == _expected(server.world)
    status, body = asyncio.run(get({"integration": iid + 1000}))
    assert status == 404


def test_the_web_page_shows_the_inventory_and_the_exempt_teammates(
    server: Server, synced: int
) -> None:
    iid = synced

    async def page(path: str) -> tuple[int, str]:
        async with web_client(server) as client:
            await sign_in(client, server.viewer)
            answer = await client.get(path)
        return answer.status_code, answer.text

    status, text = asyncio.run(page(f"/integrations/{iid}/api-keys"))
    assert status == 200
    shown = set(re.findall(r'data-key-id="([^"]+)"', text))
    assert shown == set(_expected(server.world))
    assert "not available from SendGrid" in text
    exempt = [
        t["username"]
        for t in server.world.accounts[0].teammates
        if "2fa_exempt" in t["scopes"]
    ]
    assert exempt  # the world has some: 40 teammates
    listed = re.search(r'<ul data-testid="two-factor-exempt">(.*?)</ul>', text, re.S)
    assert listed is not None
    assert re.findall(r"<li>([^ <]+) ", listed.group(1)) == sorted(exempt)
    status, _ = asyncio.run(page(f"/integrations/{iid}"))
    assert status == 200
    assert asyncio.run(page(f"/integrations/{iid + 1000}/api-keys"))[0] == 404
