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
    incomplete = []
    for month in data["months"]:
        # A job not read: its segments are missing, so no bound holds.
        bound = month["addresses_up_to"]
        if bound is None:
            incomplete.append(month)
        table.add_row(
            month["month"],
            f"{month['jobs']:,}",
            f"{month['segments']:,}"
            if bound is not None
            else f"≥ {month['segments']:,}",
            f"up to {bound:,}" if bound is not None else "unknown",
        )
    console.print(table)
    for month in incomplete:
        console.print(
            f"{month['month']}: {month['summary']}, so no upper bound of addresses.",
            highlight=False,
        )
    console.print(f"Addresses: {data['note']}.")
