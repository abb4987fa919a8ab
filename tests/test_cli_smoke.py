from __future__ import annotations

from typer.testing import CliRunner

from smp import __version__
from smp.cli.main import app


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("simulator", "doctor", "demo"):
        assert command in result.output
    assert __version__.count(".") == 2
