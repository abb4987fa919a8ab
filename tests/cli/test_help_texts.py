"""Every option and argument of every `smp` command says what it is for."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer

from smp.cli.main import app


def _undocumented(command: Any, path: str) -> Iterator[str]:
    subcommands = getattr(command, "commands", None)
    if subcommands is not None:
        for name, sub in subcommands.items():
            yield from _undocumented(sub, f"{path} {name}")
        return
    for param in command.params:
        if not (getattr(param, "help", None) or "").strip():
            yield f"{path}: {'/'.join(param.opts)}"


def test_every_option_and_argument_has_help() -> None:
    root = typer.main.get_command(app)
    found = list(_undocumented(root, "smp"))
    assert found == []


def test_the_walk_reaches_nested_commands_and_sees_a_missing_help() -> None:
    """The walk itself can fail: an option without help is reported."""
    probe = typer.Typer()
    group = typer.Typer()
    probe.add_typer(group, name="group")

    @group.command("leaf")
    def leaf(bare: bool = False, told: bool = typer.Option(False, help="x")) -> None:
        """A command with one undocumented option."""

    @probe.command("other")
    def other() -> None:
        """A second command, so that the group is not collapsed."""

    found = list(_undocumented(typer.main.get_command(probe), "probe"))
    assert found == ["probe group leaf: --bare"]
