"""The `smp simulator` commands, and one real loopback server."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import pytest
from tests.support.ports import free_port
from typer.testing import CliRunner

from smp.cli.main import app
from smp.simulator import generate_world


def test_keys_json_matches_the_world_of_the_same_seed() -> None:
    result = CliRunner().invoke(app, ["simulator", "keys", "--seed", "4", "--json"])
    assert result.exit_code == 0
    world = generate_world(4)
    assert json.loads(result.stdout) == [
        {"account": k.account, "kind": k.kind, "key": k.key} for k in world.keys
    ]


def test_keys_with_a_broken_world_file_names_the_field(tmp_path) -> None:
    data = json.loads(generate_world(1, accounts=1).to_json())
    data["accounts"][0]["user_id"] = "seven"
    path = tmp_path / "w.json"
    path.write_text(json.dumps(data))
    result = CliRunner().invoke(app, ["simulator", "keys", "--world", str(path)])
    assert result.exit_code == 2
    assert "accounts.0.user_id" in result.output


@pytest.mark.loopback
def test_serve_over_loopback() -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "smp", "simulator", "serve", "--seed", "1",
         "--port", str(port), "--teammates", "12",
         "--fault", "kind=status,status=502,path=/v3/user/email,html=true"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(base + "/_sim/faults", timeout=0.5)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        world = generate_world(1, teammates=12)
        keys = {
            k.kind: k.key for k in world.keys if k.account == world.accounts[0].username
        }
        with httpx.Client(base_url=base) as client:
            full = {"Authorization": f"Bearer {keys['full']}"}
            names = []
            for offset in range(0, 12, 5):
                page = client.get(
                    "/v3/teammates", params={"limit": 5, "offset": offset}, headers=full
                )
                assert "x-ratelimit-remaining" in page.headers
                names += [m["username"] for m in page.json()["result"]]
            assert names == [t["username"] for t in world.accounts[0].teammates]
            billing = {"Authorization": f"Bearer {keys['billing']}"}
            assert client.get("/v3/teammates", headers=billing).status_code == 403
            assert (
                client.get("/v3/billing/invoices", headers=billing).status_code == 200
            )
            revoked = client.get(
                "/v3/teammates", headers={"Authorization": f"Bearer {keys['revoked']}"}
            )
            assert revoked.status_code == 401
            assert (
                "invalid, expired, or revoked" in revoked.json()["errors"][0]["message"]
            )
            proxy = client.get("/v3/user/email", headers=full)
            assert proxy.status_code == 502
            assert "<html>" in proxy.text
            client.post("/_sim/faults", json={"kind": "reset", "path": "/v3/scopes"})
            with pytest.raises(httpx.TransportError):
                client.get("/v3/scopes", headers=full)
    finally:
        server.terminate()
        server.wait(timeout=10)
        assert server.stderr is not None
        server.stderr.close()
