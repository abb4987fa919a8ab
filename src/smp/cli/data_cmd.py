"""Reading what SMP has stored: members, subusers, invoices, usage, history."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from smp.cli.opening import (
    console,
    errors,
    open_runtime,
    print_json,
    user_errors,
)
from smp.cli.views import (
    CREDIT_COLUMNS,
    FIRST_SEEN,
    REMOVED,
    credits_shown,
    data_table,
    invite_counts,
    money,
    render_usage,
    role_counts,
    shown_member,
)
from smp.model import Integration, MemberStatus, Role
from smp.services import read_shapes
from smp.storage import get_integration

NameArg = Annotated[str, typer.Argument(help="Integration name or id.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
NO_ACTIVITY = "Last activity: not available from SendGrid (its API has no login data)."


@contextmanager
def _reading(name: str) -> Iterator[tuple[Session, Integration]]:
    runtime = open_runtime()
    with user_errors(), Session(runtime.engine) as session:
        yield session, get_integration(session, name)


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
            table = data_table(
                f"Members of {integration.name}",
                [shown_member(r) for r in rows],
                columns,
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
            flat = [{**r, **credits_shown(r["credits"])} for r in rows]
            columns = ["username", "email", "disabled", "region", *CREDIT_COLUMNS]
            console.print(data_table(f"Subusers of {integration.name}", flat, columns))

        reads = ("subusers", "subuser_credits")
        _show(name, as_json, read_shapes.subusers, render, reads)

    @app.command("invoices")
    def invoices(name: NameArg, as_json: JsonFlag = False) -> None:
        """Invoices (needs a Billing Access key)."""

        def render(integration: Integration, rows: list[dict[str, Any]]) -> None:
            columns = ["number", "date", "due_date", "amount", "status"]
            shown = [{**r, "amount": money(r["amount"], r["currency"])} for r in rows]
            console.print(data_table(f"Invoices of {integration.name}", shown, columns))

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
                data_table(f"Member history of {integration.name}", shown, columns)
            )

        _show(name, as_json, read_shapes.history, render, ("members",))
