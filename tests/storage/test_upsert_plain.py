"""The SQLite upsert fast path (DBAPI executemany of converted tuples) stores
exactly what SQLAlchemy's own parameter processing stores, on both dialects."""

from __future__ import annotations

import datetime as dt
import importlib
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from smp.storage import create_integration, session_factory
from smp.storage.tables import InvoiceRow, MemberEventRow, MemberRow

upsert_module = importlib.import_module("smp.storage.upsert")

UTC = dt.UTC
PLUS2 = dt.timezone(dt.timedelta(hours=2))
T0 = dt.datetime(2026, 11, 1, 12, 0, 0, 123456, tzinfo=UTC)
# The same instant in another zone: memoized conversion must not mix them up.
T0_PLUS2 = T0.astimezone(PLUS2)
T1 = dt.datetime(2026, 11, 2, 23, 59, 59, tzinfo=PLUS2)


SKIPPED = ("id", "integration_id", "member_id")


def _members(iid: int) -> list[dict[str, Any]]:
    return [
        {
            "integration_id": iid,
            "member_key": f"m{i}@x.example",
            "email": f"M{i}@x.example" if i % 3 else None,
            "username": f"user{i}",
            "first_name": "Ødegård" if i % 2 else None,
            "last_name": "a'b\"c",
            "search_text": f"m{i}@x.example\x1fuser{i}",
            "role": "admin",
            "status": "active",
            "is_sso": (None, True, False)[i % 3],
            "invite_expires_at": None if i % 2 else T1,
            "expiry_reported": bool(i % 2),
            "first_seen": (T0, T0_PLUS2, T1)[i % 3],
            "last_seen": T0_PLUS2 if i % 2 else T0,
            "removed_at": None,
            "source_service_account_id": None,
            "sync_run_id": None,
        }
        for i in range(12)
    ]


def _invoices(iid: int, amounts: list[Decimal | None]) -> list[dict[str, Any]]:
    return [
        {
            "integration_id": iid,
            "invoice_id": f"inv-{i}",
            "number": None,
            "date": dt.date(2026, 1 + i, 1),
            "due_date": None,
            "period_start": dt.date(2026, 1 + i, 1),
            "period_end": None,
            "amount": amount,
            "currency": "usd",
            "status": "paid",
            "balance": amount,
            "source_service_account_id": None,
            "first_seen": T0_PLUS2 if i % 2 else T0,
            "synced_at": T0,
        }
        for i, amount in enumerate(amounts)
    ]


def _stored(session: Session, model: Any, iid: int) -> list[tuple[Any, ...]]:
    """Raw driver values (text() has no result types): what the database holds."""
    table = model.__table__
    names = ", ".join(c.name for c in table.c if c.name not in SKIPPED)
    query = f"SELECT {names} FROM {table.name} WHERE integration_id = :iid ORDER BY id"
    return [tuple(row) for row in session.execute(text(query), {"iid": iid})]


def _write(engine: Engine, name: str) -> tuple[list[Any], list[Any], list[Any]]:
    with session_factory(engine).begin() as session:
        iid = create_integration(session, name).id
        upsert = upsert_module.upsert
        upsert(session, MemberRow, _members(iid), keys=("integration_id", "member_key"))
        # Again, changed: the ON CONFLICT update, and coalesce for kept columns.
        again = _members(iid)
        for row in again:
            row["role"], row["is_sso"], row["last_seen"] = "owner", None, T1
        upsert(
            session,
            MemberRow,
            again,
            keys=("integration_id", "member_key"),
            keep_when_null=("is_sso",),
        )
        amounts = [Decimal("1.0"), Decimal("1.00"), None, Decimal("12.30")]
        invoices = _invoices(iid, amounts)
        upsert(session, InvoiceRow, invoices, keys=("integration_id", "invoice_id"))
        ids = session.execute(
            select(MemberRow.id).where(MemberRow.integration_id == iid)
        ).scalars()
        upsert_module.insert_columns(
            session,
            MemberEventRow,
            _columns(
                [
                    {
                        "integration_id": iid,
                        "member_id": member_id,
                        "kind": "joined",
                        "member_key": "k",
                        "email": None,
                        "username": "u",
                        "old_role": None,
                        "new_role": "admin",
                        "occurred_at": T0_PLUS2,
                        "source_service_account_id": None,
                        "sync_run_id": None,
                    }
                    for member_id in ids
                ]
            ),
        )
        return (
            _stored(session, MemberRow, iid),
            _stored(session, InvoiceRow, iid),
            _stored(session, MemberEventRow, iid),
        )


def test_fast_path_stores_what_sqlalchemy_stores(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = _write(engine, f"fast {engine.dialect.name} {id(monkeypatch)}")
    monkeypatch.setattr(upsert_module, "_plain", lambda *_: None)
    general = _write(engine, f"general {engine.dialect.name} {id(monkeypatch)}")
    assert fast == general
    members, invoices, events = fast
    assert len(members) == 12
    assert len(events) == 12
    # Equal Decimals with different text stay as they were given.
    names = [c.name for c in InvoiceRow.__table__.c if c.name not in SKIPPED]
    assert [row[names.index("amount")] for row in invoices] == [
        "1.0",
        "1.00",
        None,
        "12.30",
    ]


def test_fast_path_is_taken_on_sqlite_only(engine: Engine) -> None:
    statement = MemberRow.__table__.insert()
    columns = tuple(c.name for c in MemberRow.__table__.c if c.name != "id")
    plain = upsert_module._plain(statement, engine.dialect, columns)
    assert (plain is not None) == (engine.dialect.name == "sqlite")
    # A Python-side default adds a parameter the rows lack: the general path.
    partial = ("integration_id", "member_key", "role", "status")
    assert upsert_module._plain(statement, engine.dialect, partial) is None


def _columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return {name: [row[name] for row in rows] for name in rows[0]}


def _write_columns(engine: Engine, name: str) -> tuple[list[Any], list[Any]]:
    """`_write`'s members and events, given column by column."""
    with session_factory(engine).begin() as session:
        iid = create_integration(session, name).id
        keys = ("integration_id", "member_key")
        upsert_columns = upsert_module.upsert_columns
        assert upsert_columns(session, MemberRow, _columns(_members(iid)), keys=keys)
        again = _members(iid)
        for row in again:
            row["role"], row["is_sso"], row["last_seen"] = "owner", None, T1
        upsert_columns(
            session, MemberRow, _columns(again), keys=keys, keep_when_null=("is_sso",)
        )
        ids = list(
            session.execute(
                select(MemberRow.id).where(MemberRow.integration_id == iid)
            ).scalars()
        )
        count = len(ids)
        sent = upsert_module.insert_columns(
            session,
            MemberEventRow,
            {
                "integration_id": [iid] * count,
                "member_id": ids,
                "kind": ["joined"] * count,
                "member_key": ["k"] * count,
                "email": [None] * count,
                "username": ["u"] * count,
                "old_role": [None] * count,
                "new_role": ["admin"] * count,
                "occurred_at": [T0_PLUS2] * count,
                "source_service_account_id": [None] * count,
                "sync_run_id": [None] * count,
            },
        )
        assert sent == count
        return _stored(session, MemberRow, iid), _stored(session, MemberEventRow, iid)


@pytest.mark.parametrize("path", ["fast", "general"])
def test_columns_store_what_rows_store(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    if path == "general":
        monkeypatch.setattr(upsert_module, "_plain", lambda *_: None)
    monkeypatch.setattr(upsert_module, "CHUNK", 5)  # 12 rows: three chunks
    label = f"{engine.dialect.name} {path} {id(monkeypatch)}"
    members, _, events = _write(engine, f"rows {label}")
    assert _write_columns(engine, f"columns {label}") == (members, events)
    assert len(members) == 12


def test_columns_of_different_lengths_are_refused(session: Session) -> None:
    columns = {"integration_id": [1, 1], "member_key": ["a"]}
    with pytest.raises(ValueError, match="one value per row"):
        upsert_module.insert_columns(session, MemberRow, columns)
