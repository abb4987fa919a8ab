"""A command group whose first word, when it names no command, goes to `list`."""

from __future__ import annotations

from typing import Any

from typer.core import TyperGroup

HELP = ("--help", "-h")


class ListByDefault(TyperGroup):
    """`smp findings acme --json` is `smp findings list acme --json`."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        # Typer's own click types its Context: any context is passed on as is.
        first = args[0] if args else None
        if first is None or (first not in self.commands and first not in HELP):
            args = ["list", *args]
        return super().parse_args(ctx, args)
