"""`smp serve` refuses half a TLS setup and unknown log levels before starting."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from smp.cli.main import app


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
