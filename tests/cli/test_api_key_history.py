"""An API key's scope history as `smp api-keys NAME KEY_ID --history`,
`GET /api/v1/api-keys/{key_id}/history` and the web API-keys page show it: a
key narrowed through the simulator's control surface shows exactly the
scopes removed, at the time the next sync saw it."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re

from tests.support.app import Server, asgi_client, connect_and_sync
from tests.support.html import html_problems
from tests.support.simulator import forget_world
from tests.support.web import sign_in, web_client
from typer.testing import CliRunner

from smp.cli.main import app
from smp.simulator import load_world
from smp.sync.engine import run_sync


def _cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _api(server: Server, path: str) -> tuple[int, dict[str, object]]:
    async def get() -> tuple[int, dict[str, object]]:
        async with asgi_client(server) as client:
            answer = await client.get(path, headers=server.auth(server.viewer_token))
        return answer.status_code, answer.json()

    return asyncio.run(get())


def _page(server: Server, path: str) -> str:
    async def get() -> str:
        async with web_client(server) as client:
            await sign_in(client, server.viewer)
            answer = await client.get(path)
        assert answer.status_code == 200, answer.text
        return answer.text

    return asyncio.run(get())


def test_a_narrowed_key_shows_exactly_the_removed_scopes_with_the_time(
    server: Server, cli_env: None
) -> None:
    setup = server.setup
    forget_world(setup.engine, server.world)
    iid = asyncio.run(connect_and_sync(server, "Key history", ("full",)))
    username = server.world.accounts[0].username
    full = next(
        k for k in server.world.keys if k.account == username and k.kind == "full"
    )
    first = json.loads(_cli("api-keys", str(iid), full.key_id, "--json"))
    assert [(c["change"], sorted(c["added"]), c["removed"]) for c in first] == [
        ("first_seen", sorted(full.scopes), [])
    ]

    # The control surface narrows the key: every write scope goes.
    changed = load_world(server.world.to_json())
    narrowed = next(k for k in changed.keys if k.key_id == full.key_id)
    removed = sorted(s for s in narrowed.scopes if not s.endswith(".read"))
    narrowed.scopes = sorted(s for s in narrowed.scopes if s.endswith(".read"))
    assert removed
    setup.sim.replace_world(changed)
    before = setup.context.now()  # the sync's clock
    asyncio.run(run_sync(setup.engine, setup.box, iid, setup.context))
    after = setup.context.now()

    history = json.loads(_cli("api-keys", str(iid), full.key_id, "--history", "--json"))
    assert [c["change"] for c in history] == ["first_seen", "changed"]
    last = history[1]
    assert (last["key_id"], last["name"], last["added"]) == (full.key_id, full.name, [])
    assert sorted(last["removed"]) == removed
    seen = dt.datetime.fromisoformat(last["seen_at"])
    assert before <= seen <= after
    # Every key's history at once: the other keys' first sightings too.
    every = json.loads(_cli("api-keys", str(iid), "--history", "--json"))
    assert [c for c in every if c["change"] == "changed"] == [last]
    shown = " ".join(_cli("api-keys", str(iid), full.key_id).split())
    assert "changed" in shown
    assert "SendGrid keeps no history" in shown

    status, body = _api(
        server, f"/api/v1/api-keys/{full.key_id}/history?integration={iid}"
    )
    assert status == 200
    assert body == {"items": history, "total": 2}
    status, missing = _api(server, f"/api/v1/api-keys/nokey/history?integration={iid}")
    assert (status, missing["detail"]) == (
        404,
        "no API key 'nokey' in this integration",
    )
    unknown = CliRunner().invoke(app, ["api-keys", str(iid), "nokey"])
    assert unknown.exit_code == 2
    assert unknown.output.strip().splitlines() == [
        "error: no API key 'nokey' in this integration"
    ]

    page = _page(server, f"/integrations/{iid}/api-keys")
    assert html_problems(page) == []  # the sweep's strict parse, with the table
    rows = re.findall(
        r'<tr data-key-id="([^"]+)" data-seen-at="([^"]+)">.*?'
        r'class="removed">([^<]*)</td>\s*<td data-label="Added" class="added">'
        r"([^<]*)</td>",
        page,
        re.S,
    )
    assert rows == [(full.key_id, last["seen_at"], ", ".join(last["removed"]), "none")]
