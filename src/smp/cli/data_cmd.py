"""Reading what SMP has stored: members, subusers, invoices, usage, history."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text
from sqlalchemy.orm import Session

from smp.cli.opening import (
    console,
    errors,
    open_runtime,
    print_json,
    user_errors,
    whole_line,
)
from smp.model import Integration, MemberStatus, Role
from smp.services import read_shapes
from smp.storage import get_integration

NameArg = Annotated[str, typer.Argument(help="Integration name or id.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
NO_ACTIVITY = "Last activity: not available from SendGrid (its API has no login data)."
FIRST_SEEN = "first seen by SMP"
REMOVED = "removed (seen gone by SMP)"


@contextmanager
def _reading(name: str) -> Iterator[tuple[Session, Integration]]:
    runtime = open_runtime()
    with user_errors(), Session(runtime.engine) as session:
        yield session, get_integration(session, name)


def _table(title: str, rows: list[dict[str, Any]], columns: list[str]) -> Table:
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


def _show(
    name: str,
    as_json: bool,
    read: Callable[[Session, int], Any],
    render: Callable[[Integration, Any], None],
    reads: tuple[str, ...] = (),
) -> None:
    """`reads` names the data shown, to say which of it no key can read
    instead of an empty table (on stderr with --json: stdout stays data)."""
    with _reading(name) as (session, integration):
        data = read(session, integration.id)
        missing = (
            read_shapes.unreadable(session, integration.id, reads) if reads else []
        )
    if as_json:
        print_json(data)
    for problem in missing:
        (errors if as_json else console).print(f"[yellow]{problem['message']}[/]")
    if not as_json and (data or not missing):
        render(integration, data)


def register(app: typer.Typer) -> None:
    @app.command("members")
    def members(
        name: NameArg,
        status: Annotated[
            MemberStatus | None,
            typer.Option(help="Only members in this state (default: not removed)."),
        ] = None,
        role: Annotated[Role | None, typer.Option(help="Only this role.")] = None,
        search: Annotated[
            str | None, typer.Option(help="Text in email or name.")
        ] = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Members and pending invites (removed ones with --status removed)."""

        def read(session: Session, iid: int) -> list[dict[str, Any]]:
            return read_shapes.members(
                session, iid, status=status, role=role, search=search
            )

        def render(integration: Integration, rows: list[dict[str, Any]]) -> None:
            columns = ["email", "first_name", "last_name", "role", "status", "is_sso"]
            columns.append(FIRST_SEEN)
            if status is MemberStatus.REMOVED:
                columns.append(REMOVED)
            table = _table(
                f"Members of {integration.name}", [_shown(r) for r in rows], columns
            )
            caption = [role_counts(rows)]
            if status in (None, MemberStatus.PENDING):
                caption.append(invite_counts(rows))
            console.print(table)
            # Lines of their own, not a caption: a caption wraps at the
            # table's width, and these are wider than a narrow table.
            for line in [*caption, NO_ACTIVITY]:
                if line:  # no active member: no role counts
                    console.print(line, highlight=False)

        _show(name, as_json, read, render, ("members",))

    @app.command("subusers")
    def subusers(name: NameArg, as_json: JsonFlag = False) -> None:
        """Subusers with their credits."""

        def render(integration: Integration, rows: list[dict[str, Any]]) -> None:
            flat = [{**r, **_credits_shown(r["credits"])} for r in rows]
            columns = ["username", "email", "disabled", "region", *CREDIT_COLUMNS]
            console.print(_table(f"Subusers of {integration.name}", flat, columns))

        reads = ("subusers", "subuser_credits")
        _show(name, as_json, read_shapes.subusers, render, reads)

    @app.command("invoices")
    def invoices(name: NameArg, as_json: JsonFlag = False) -> None:
        """Invoices (needs a Billing Access key)."""

        def render(integration: Integration, rows: list[dict[str, Any]]) -> None:
            columns = ["number", "date", "due_date", "amount", "status"]
            shown = [{**r, "amount": money(r["amount"], r["currency"])} for r in rows]
            console.print(_table(f"Invoices of {integration.name}", shown, columns))

        _show(name, as_json, read_shapes.invoices, render, ("invoices",))

    @app.command("usage")
    def usage(name: NameArg, as_json: JsonFlag = False) -> None:
        """Plan utilization with its forecast, and monthly sent volume."""
        _show(name, as_json, read_shapes.usage, render_usage)

    @app.command("history")
    def history(name: NameArg, as_json: JsonFlag = False) -> None:
        """Member changes: joined, left, role changes, invites.

        The first sync records one baseline (what it found), not a join per
        member: SendGrid does not say when members joined.
        """

        def render(integration: Integration, rows: list[dict[str, Any]]) -> None:
            columns = ["at", "kind", "member", "old_role", "new_role"]
            shown = [{**r, "member": r["summary"] or r["email"]} for r in rows]
            console.print(
                _table(f"Member history of {integration.name}", shown, columns)
            )

        _show(name, as_json, read_shapes.history, render, ("members",))


def _shown(row: dict[str, Any]) -> dict[str, Any]:
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


def _credits_shown(credits: dict[str, Any]) -> dict[str, Any]:
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
