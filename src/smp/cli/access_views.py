"""Terminal views of SSO, IP access and e-mail validation data (issue M)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from smp.cli.opening import console


def render_validation(data: dict[str, Any]) -> None:
    """Bulk validation jobs per month, never more than SendGrid says."""
    if not data["readable"]:
        console.print(f"[yellow]{data['message']}[/]")
    if not data["months"]:
        if data["readable"]:
            console.print("No bulk e-mail validation jobs stored.")
        return
    table = Table(
        title="E-mail validation (bulk jobs, by the month they started)",
        title_justify="left",
    )
    for column in ("month", "jobs", "segments", "addresses"):
        table.add_column(column, justify="left" if column == "month" else "right")
    for month in data["months"]:
        table.add_row(
            month["month"],
            f"{month['jobs']:,}",
            f"{month['segments']:,}",
            f"up to {month['addresses_up_to']:,}",
        )
    console.print(table)
    console.print(f"Addresses: {data['note']}.")
