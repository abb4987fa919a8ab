"""Ground truth: what the database must hold for a simulator account, and checks.

`expected(account)` is computed from the simulator's world only; `stored(...)`
reads SMP's database through the storage layer. Both give the same shape, so a
test compares them with one `==` and counts the records it compared.
`integrity_problems` looks for damage a crash could leave behind.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from smp.model import MemberStatus, Role
from smp.simulator import Account
from smp.simulator.world import DailyStat
from smp.storage import (
    current_usage,
    list_invoices,
    list_members,
    list_monthly_volumes,
    list_subusers,
)

ROLE = {"owner": Role.OWNER, "admin": Role.ADMIN, "teammate": Role.USER}
Snapshot = dict[str, frozenset[tuple[object, ...]]]


def _months(days: Iterable[DailyStat]) -> set[tuple[object, ...]]:
    """(month, metric, value) for every month with any traffic."""
    totals: dict[tuple[dt.date, str], int] = defaultdict(int)
    for day in days:
        month = dt.date.fromisoformat(day["date"]).replace(day=1)
        for name, value in day["metrics"].items():
            totals[month, name] += int(value)
    busy = {month for (month, _), value in totals.items() if value}
    return {(m, n, v) for (m, n), v in totals.items() if m in busy}


def expected(account: Account) -> Snapshot:
    volume = {("account", *row) for row in _months(account.daily_stats)}
    for sub in account.subusers:
        volume |= {(sub.username, *row) for row in _months(sub.daily_stats)}
    return {
        "members": frozenset(
            (
                t["email"].lower(),
                t["username"],
                ROLE[t["user_type"]],
                t["first_name"],
                t["last_name"],
            )
            for t in account.teammates
        ),
        "invites": frozenset(
            (
                p["email"].lower(),
                dt.datetime.fromtimestamp(p["expiration_date"], dt.UTC),
            )
            for p in account.pending
        ),
        "subusers": frozenset(
            (s.username, s.email, s.credits["total"], s.credits["used"])
            for s in account.subusers
        ),
        "credits": frozenset({(account.credits["total"], account.credits["used"])}),
        "invoices": frozenset(
            (str(i["id"]), Decimal(str(i["amount"]))) for i in account.invoices
        ),
        "volume": frozenset(volume),
    }


def stored(engine: Engine, integration_id: int) -> Snapshot:
    with Session(engine) as session:
        active = list_members(session, integration_id, status=MemberStatus.ACTIVE)
        pending = list_members(session, integration_id, status=MemberStatus.PENDING)
        subusers = list_subusers(session, integration_id)
        usage = current_usage(session, integration_id)
        invoices = list_invoices(session, integration_id)
        volumes = list_monthly_volumes(session, integration_id, all_subusers=True)
    volume: set[tuple[object, ...]] = set()
    for row in volumes:
        values = dataclasses.asdict(row.metrics)
        if any(values.values()):
            who = row.subuser or "account"
            volume |= {(who, row.month, n, v) for n, v in values.items()}
    return {
        "members": frozenset(
            ((m.email or "").lower(), m.username, m.role, m.first_name, m.last_name)
            for m in active
        ),
        "invites": frozenset(
            (
                (m.email or "").lower(),
                m.invite_expires_at.replace(tzinfo=dt.UTC)
                if m.invite_expires_at
                else None,
            )
            for m in pending
        ),
        "subusers": frozenset(
            (s.username, s.email, s.credits_total, s.credits_used) for s in subusers
        ),
        "credits": frozenset(
            {(usage.period.total, usage.period.used)} if usage else set()
        ),
        "invoices": frozenset((i.invoice_id, i.amount) for i in invoices),
        "volume": frozenset(volume),
    }


def row_counts(engine: Engine, integration_id: int) -> dict[str, int]:
    """Raw row counts per table: a duplicate row would show up here."""
    tables = ("members", "subusers", "invoices", "monthly_volumes")
    with engine.connect() as connection:
        return {
            table: int(
                connection.execute(
                    text(f"SELECT count(*) FROM {table} WHERE integration_id = :i"),
                    {"i": integration_id},
                ).scalar_one()
            )
            for table in tables
        }


# Child table -> (column, parent table) for every foreign key that must resolve.
_REFERENCES = (
    ("service_accounts", "integration_id", "integrations"),
    ("sync_runs", "integration_id", "integrations"),
    ("members", "integration_id", "integrations"),
    ("member_events", "member_id", "members"),
    ("subusers", "integration_id", "integrations"),
    ("usage_periods", "integration_id", "integrations"),
    ("monthly_volumes", "integration_id", "integrations"),
    ("invoices", "integration_id", "integrations"),
    ("account_identities", "integration_id", "integrations"),
)


def integrity_problems(engine: Engine) -> list[str]:
    """SQLite's own check, orphan rows, and runs without an outcome."""
    problems: list[str] = []
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            verdict = connection.exec_driver_sql("PRAGMA integrity_check").scalar()
            if verdict != "ok":
                problems.append(f"integrity_check: {verdict}")
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            problems += [f"foreign_key_check: {tuple(row)}" for row in broken]
        for child, column, parent in _REFERENCES:
            orphans = connection.execute(
                text(
                    # A NULL reference (the baseline event's member) is none.
                    f"SELECT count(*) FROM {child} c WHERE c.{column} IS NOT NULL AND"
                    f" NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.id = c.{column})"
                )
            ).scalar_one()
            if orphans:
                problems.append(f"{orphans} orphan rows in {child}.{column}")
        duplicates = connection.execute(
            text(
                "SELECT count(*) FROM (SELECT integration_id, lower(email) FROM members"
                " WHERE email IS NOT NULL GROUP BY integration_id, lower(email)"
                " HAVING count(*) > 1) d"
            )
        ).scalar_one()
        if duplicates:
            problems.append(f"{duplicates} duplicated members")
    return problems


def records_in(snapshot: Snapshot) -> int:
    return sum(len(rows) for rows in snapshot.values())
