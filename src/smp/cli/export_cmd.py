"""`smp export NAME --format csv|json|xlsx --out DIR`.

File names come from a slug of the integration's name, never the raw name, so
a name like `../../etc` cannot write outside DIR. Exports hold no secrets:
sources are shown as `SG.<key id>…`.
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from smp.cli import views
from smp.cli.runtime import (
    EXIT_BAD_INPUT,
    console,
    fail,
    open_runtime,
    private_files,
    user_errors,
)
from smp.model import MemberStatus
from smp.storage import get_integration


class Format(StrEnum):
    CSV = "csv"
    JSON = "json"
    XLSX = "xlsx"


def slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^A-Za-z0-9]+", "-", ascii_name).strip("-").lower()
    return cleaned or "integration"


def _flat(row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}_"))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def collect(session: Session, integration_id: int) -> dict[str, list[dict[str, Any]]]:
    usage = views.usage(session, integration_id)
    monthly = [{"subuser": None, **m} for m in usage["monthly"]] + [
        {"subuser": s["username"], **m} for s in usage["subusers"] for m in s["monthly"]
    ]
    return {
        "members": views.members(session, integration_id),
        "removed_members": views.members(
            session, integration_id, status=MemberStatus.REMOVED
        ),
        "subusers": [_flat(s) for s in views.subusers(session, integration_id)],
        "invoices": views.invoices(session, integration_id),
        "usage": [
            _flat(
                {
                    "credits": usage["credits"] or {},
                    **{
                        k: usage[k]
                        for k in (
                            "utilization",
                            "forecast_used_at_reset",
                            "overage_risk",
                            "period_ended",
                        )
                    },
                }
            )
        ],
        "monthly_volume": monthly,
        "history": views.history(session, integration_id),
    }


def _write_csv(
    out: Path, base: str, tables: dict[str, list[dict[str, Any]]]
) -> list[Path]:
    written = []
    for name, rows in tables.items():
        path = out / f"{base}-{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            columns = list(rows[0]) if rows else []
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
        written.append(path)
    return written


def _write_xlsx(
    out: Path, base: str, tables: dict[str, list[dict[str, Any]]]
) -> list[Path]:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, rows in tables.items():
        sheet = book.create_sheet(name[:31])
        columns = list(rows[0]) if rows else []
        sheet.append(columns)
        for row in rows:
            sheet.append([row[c] for c in columns])
    path = out / f"{base}.xlsx"
    book.save(path)
    return [path]


def register(app: typer.Typer) -> None:
    @app.command("export")
    def export(
        name: Annotated[str, typer.Argument(help="Integration name or id.")],
        format_: Annotated[Format, typer.Option("--format")] = Format.CSV,
        out: Annotated[
            Path, typer.Option("--out", help="Folder to write into.")
        ] = Path("."),
    ) -> None:
        """Write members, subusers, invoices, usage and history to files."""
        runtime = open_runtime()
        with user_errors(), Session(runtime.engine) as session:
            integration = get_integration(session, name)
            tables = collect(session, integration.id)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            fail(f"cannot create {out}: {error.strerror}", EXIT_BAD_INPUT)
        base = slug(integration.name)
        with private_files():  # member data: 0600, like the database
            if format_ is Format.JSON:
                path = out / f"{base}.json"
                path.write_text(
                    json.dumps(tables, ensure_ascii=False, indent=2, default=str),
                    encoding="utf-8",
                )
                written = [path]
            elif format_ is Format.XLSX:
                written = _write_xlsx(out, base, tables)
            else:
                written = _write_csv(out, base, tables)
        for path in written:
            console.print(f"wrote {path}")
