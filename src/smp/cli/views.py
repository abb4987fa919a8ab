"""How the CLI shows what SMP read: rich tables and lines (the data itself is
`smp.services.read_shapes`)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.table import Table
from rich.text import Text

from smp.cli.access_views import render_validation
from smp.cli.opening import console, whole_line
from smp.model import Integration, Role

FIRST_SEEN = "first seen by SMP"
REMOVED = "removed (seen gone by SMP)"


def data_table(title: str, rows: list[dict[str, Any]], columns: list[str]) -> Table:
    table = Table(title=whole_line(title), title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(_cell(row[c]) for c in columns))
    return table


def _cell(value: Any) -> Text:
    """Plain text (SendGrid's values are not markup), counts with separators."""
    if value is None:
        return Text("")
    if isinstance(value, int) and not isinstance(value, bool):
        return Text(f"{value:,}")
    return Text(str(value))


def shown_member(row: dict[str, Any]) -> dict[str, Any]:
    """A member row for the table: days, and expired invites flagged."""
    status = row["status"] + (", expired" if row["invite_expired"] else "")
    return {
        **row,
        "status": status,
        FIRST_SEEN: (row["first_seen"] or "")[:10],
        REMOVED: (row["removed_at"] or "")[:10],
    }


def role_counts(rows: list[dict[str, Any]]) -> str:
    """'owner: 1, admin: 4, user: 25': active members, by rank, not by name."""
    counts = Counter(r["role"] for r in rows if r["status"] == "active")
    return ", ".join(f"{role}: {counts[role]:,}" for role in Role if counts[role])


def money(amount: float | None, currency: str | None) -> str:
    """'1,234.50 USD': two decimals and the currency, as on an invoice."""
    if amount is None:
        return ""
    return f"{amount:,.2f} {currency or ''}".rstrip()


def invite_counts(rows: list[dict[str, Any]]) -> str:
    """'pending invites: 2 (1 more expired)': expired ones are not pending."""
    invites = [r for r in rows if r["status"] == "pending"]
    expired = sum(bool(r["invite_expired"]) for r in invites)
    more = f" ({expired:,} more expired, no longer usable)" if expired else ""
    return f"pending invites: {len(invites) - expired:,}{more}"


CREDIT_COLUMNS = ["credits used", "credits total"]
BAR = 12  # the longest bar, in characters: the table fits 80 columns


def credits_shown(credits: dict[str, Any]) -> dict[str, Any]:
    """Used and total for the table: "unlimited" has no totals, and figures
    read before a reset are marked as the last period's."""
    if credits["type"] == "unlimited":
        return dict.fromkeys(CREDIT_COLUMNS, "unlimited")
    used = "" if credits["used"] is None else f"{credits['used']:,}"
    ended = " (last period)" if credits["period_ended"] and used else ""
    total = "" if credits["total"] is None else f"{credits['total']:,}"
    return {"credits used": used + ended, "credits total": total}


def render_usage(integration: Integration, data: dict[str, Any]) -> None:
    notes = {u["data"]: u["message"] for u in data["unreadable"]}
    credits = data["credits"]
    if "credits" in notes:
        console.print(f"[yellow]{notes['credits']}[/]")
    if credits is None:
        if "credits" not in notes:
            console.print(f"{integration.name}: no credits data yet (run smp sync).")
    else:
        share = data["utilization"] or 0.0
        filled = round(min(share, 1.0) * 30)
        bar = "█" * filled + "░" * (30 - filled)
        colour = "red" if data["overage_risk"] else "green"
        console.print(
            f"[bold]{integration.name}[/] credits {credits['used']:,} of "
            f"{credits['total']:,} ({share:.0%}) [{colour}]{bar}[/]  "
            f"period {credits['last_reset']} → {credits['next_reset']}"
        )
        if data["period_ended"]:
            console.print(
                "[yellow]This period has ended: these are its final figures as "
                "last read, with no forecast. Run smp sync for the current one.[/]"
            )
        forecast = data["forecast_used_at_reset"]
        if forecast is not None:
            warning = "  [red]overage likely[/]" if data["overage_risk"] else ""
            console.print(f"forecast at reset: {forecast:,.0f}{warning}")
    _render_volume(data["volume_trend"], notes)
    render_validation(data["validation"])


def _render_volume(trend: dict[str, Any], notes: dict[str, str]) -> None:
    """The last 12 months with sends. SendGrid counts the parent's own sends
    apart from its subusers', so the whole account is their sum."""
    for data in ("volume", "subuser_volume"):
        if data in notes:
            console.print(f"[yellow]{notes[data]}[/]")
    whole = trend["whole_account"]
    columns = {"parent's own": trend["parent_own"]}
    if whole is not None:
        columns.update({"subusers": trend["subusers_sum"], "whole account": whole})
    months = trend["months"][-12:]
    if not months:
        if "volume" not in notes:
            console.print("No e-mail sent in the stored months.")
        return
    first = len(trend["months"]) - len(months)
    series = {name: values[first:] for name, values in columns.items()}
    bars = list(series.values())[-1]  # the whole account's, or else the parent's
    peak = max(bars) or 1
    table = Table(
        title=whole_line("Monthly sent volume (requests)"), title_justify="left"
    )
    table.add_column("month")
    for column in series:
        table.add_column(column, justify="right")
    table.add_column("")
    for index, month in enumerate(months):
        figures = [f"{values[index]:,}" for values in series.values()]
        table.add_row(month, *figures, "▇" * round(bars[index] / peak * BAR))
    console.print(table)
