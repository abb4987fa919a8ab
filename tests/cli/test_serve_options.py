"""`smp serve` refuses half a TLS setup and unknown log levels; warns when exposed."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from smp.cli.main import app
from smp.cli.serve_cmd import exposure_warnings, is_loopback


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ssl-certfile", "{cert}"], "--ssl-certfile and --ssl-keyfile together"),
        (["--ssl-keyfile", "{cert}"], "--ssl-certfile and --ssl-keyfile together"),
        (
            ["--ssl-certfile", "{cert}", "--ssl-keyfile", "{missing}"],
            "cannot read",
        ),
        (["--log-level", "loud"], "--log-level is one of"),
    ],
)
def test_bad_serve_options_fail_with_one_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("not used")
    filled = [a.format(cert=cert, missing=tmp_path / "nope.pem") for a in args]
    result = CliRunner().invoke(app, ["serve", *filled], env={"NO_COLOR": "1"})
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.3.2.1", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.0.2.10", False),
        ("2001:db8::1", False),
    ],
)
def test_only_loopback_addresses_count_as_private(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
    warnings = exposure_warnings(host, tls=False)
    assert any("plain http" in w for w in warnings) is not loopback
    assert not any("plain http" in w for w in exposure_warnings(host, tls=True))


def test_the_test_only_password_cost_is_announced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # tests/conftest.py sets it for the whole suite.
    assert exposure_warnings("127.0.0.1", tls=False) == [
        "SMP_TEST_ONLY_FAST_PASSWORD_HASH is set: new passwords are hashed at "
        "a cost meant for tests only"
    ]
    monkeypatch.delenv("SMP_TEST_ONLY_FAST_PASSWORD_HASH")
    assert exposure_warnings("127.0.0.1", tls=False) == []
