"""`smp doctor`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("doctor")
    def doctor() -> None:
        """Not built yet."""
        raise typer.Exit(3)
