"""`smp doctor` through Typer's CliRunner, with a MockTransport behind it."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from tests.support.fakes import (
    KEY_ID,
    RAW_KEY,
    SECRET,
    UNAUTHORIZED_REVOKED,
    Router,
    json_response,
)
from typer.testing import CliRunner

from smp.cli import doctor_cmd
from smp.cli.main import app
from smp.sendgrid import NO_RETRIES

READ_SCOPES = [
    "teammates.read",
    "stats.read",
    "user.username.read",
    "user.account.read",
]


@pytest.fixture
def router(monkeypatch: pytest.MonkeyPatch) -> Router:
    routes = Router(
        {
            "/v3/scopes": lambda r: json_response({"scopes": READ_SCOPES}),
            "/v3/user/username": lambda r: json_response({"username": "acme"}),
        }
    )
    monkeypatch.setattr(
        doctor_cmd, "transport_factory", lambda: httpx.MockTransport(routes)
    )
    monkeypatch.setenv("SG_KEY", RAW_KEY)
    return routes


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["doctor", *args])
    assert SECRET not in result.output
    return result.exit_code, result.output


def test_json_for_a_valid_key(router: Router) -> None:
    code, output = invoke("--key-env", "SG_KEY", "--json")
    assert code == 0
    data = json.loads(output)
    assert data["valid"] is True
    assert data["key_id"] == KEY_ID
    assert data["account"] == "acme"
    assert data["kind"] == "restricted"
    assert data["capabilities"]["members"] is True
    assert data["capabilities"]["invoices"] is False
    assert data["missing"]["subusers"] == ["subusers.read"]
    assert data["write_scopes"] == []
    assert router.requests[0].headers["authorization"] == f"Bearer {RAW_KEY}"


def test_rich_table_names_missing_scopes_and_fixes(router: Router) -> None:
    code, output = invoke("--key-env", "SG_KEY")
    assert code == 0
    assert f"SG.{KEY_ID}…" in output
    assert "account: acme" in output
    assert "subusers.read" in output
    assert "Billing Access" in output


def test_key_file_with_a_trailing_newline(router: Router, tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(RAW_KEY + "\n")
    code, output = invoke("--key-file", str(key_file), "--json")
    assert code == 0
    assert "whitespace around the key was removed" in json.loads(output)["warnings"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [("", "empty"), ("SG.short.key", "characters"), ("not a key at all", "whitespace")],
)
def test_malformed_key_exits_2_before_any_request(
    router: Router, monkeypatch: pytest.MonkeyPatch, value: str, reason: str
) -> None:
    monkeypatch.setenv("SG_KEY", value)
    code, output = invoke("--key-env", "SG_KEY", "--json")
    assert code == 2
    data = json.loads(output)
    assert data["valid"] is False
    assert reason in data["warnings"][0]
    assert router.requests == []


def test_unset_variable_exits_2(router: Router) -> None:
    code, output = invoke("--key-env", "SMP_NO_SUCH_VARIABLE")
    assert code == 2
    assert "SMP_NO_SUCH_VARIABLE is not set" in output


def test_revoked_key_exits_2(router: Router) -> None:
    router.routes["/v3/scopes"] = lambda r: json_response(UNAUTHORIZED_REVOKED, 401)
    code, output = invoke("--key-env", "SG_KEY", "--json")
    assert code == 2
    data = json.loads(output)
    assert data["valid"] is False
    assert "invalid, expired, or revoked" in data["warnings"][0]
    assert len(router.requests) == 1


def test_unreachable_exits_1(router: Router, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    router.routes["/v3/scopes"] = refuse
    monkeypatch.setattr(doctor_cmd, "DOCTOR_POLICY", NO_RETRIES)
    code, output = invoke("--key-env", "SG_KEY", "--json")
    assert code == 1
    data = json.loads(output)
    assert data["valid"] is None
    assert data["warnings"][0] == "cannot connect to api.sendgrid.com"


def test_wrong_answer_exits_1(router: Router) -> None:
    router.routes["/v3/scopes"] = lambda r: httpx.Response(200, content=b"<html>")
    code, output = invoke("--key-env", "SG_KEY")
    assert code == 1
    assert "expected JSON" in output


def test_exactly_one_key_source_and_no_key_argument(router: Router) -> None:
    assert invoke()[0] == 2
    assert invoke("--key-env", "SG_KEY", "--key-file", "x")[0] == 2
    assert invoke("--key", RAW_KEY[:10])[0] == 2  # no such option exists


def test_region_is_checked(router: Router) -> None:
    code, output = invoke("--key-env", "SG_KEY", "--region", "us")
    assert code == 2
    assert "global or eu" in output


def test_eu_region_and_base_url_choose_the_host(router: Router) -> None:
    assert invoke("--key-env", "SG_KEY", "--region", "eu")[0] == 0
    assert invoke("--key-env", "SG_KEY", "--base-url", "http://127.0.0.1:9/")[0] == 0
    hosts = [r.url.host for r in router.requests if r.url.path == "/v3/scopes"]
    assert hosts == ["api.eu.sendgrid.com", "127.0.0.1"]
