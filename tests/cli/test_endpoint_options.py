"""Bad --region and --base-url values: one clear message, exit 2, nothing sent."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from smp.cli.main import app

KEY = "SG." + "k" * 22 + "." + "s" * 43


@pytest.mark.parametrize("command", [["doctor"], ["connect", "sendgrid", "Acme"]])
@pytest.mark.parametrize(
    ("option", "value", "said"),
    [
        ("--region", "us", "unknown region 'us'; expected global or eu"),
        ("--base-url", "notaurl", "'notaurl' is not an http:// or https:// URL"),
        ("--base-url", "ftp://sim:21", "is not an http:// or https:// URL"),
        ("--base-url", "https://u:pw@sim", "give the URL without user:password@"),
    ],
)
def test_a_bad_endpoint_option_is_refused_before_anything_runs(
    command: list[str],
    option: str,
    value: str,
    said: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: object,
) -> None:
    monkeypatch.setenv("SMP_HOME", str(tmp_path))
    monkeypatch.setenv("SG_KEY", KEY)
    args = [*command, "--key-env", "SG_KEY", option, value]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)  # no traceback
    assert said in " ".join(result.output.replace("│", " ").split())
    if "@" in value:
        assert value not in result.output
