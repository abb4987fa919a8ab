"""`smp demo`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo() -> None:
        """Not built yet."""
        raise typer.Exit(3)
