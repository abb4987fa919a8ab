"""`smp export NAME --format csv|json|xlsx --out DIR`.

File names come from a slug of the integration's name, never the raw name, so
a name like `../../etc` cannot write outside DIR. Exports hold no secrets:
sources are shown as `SG.<key id>…`. CSV and XLSX come from `smp.spreadsheets`,
like the API's and the web's exports, so no SendGrid-supplied text becomes a
formula. Files are 0600: they hold member data.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from smp.cli import views
from smp.cli.opening import EXIT_BAD_INPUT, console, fail, open_runtime, user_errors
from smp.model import MemberStatus
from smp.spreadsheets import csv_text, xlsx_bytes
from smp.storage import get_integration
from smp.storage.engine import PRIVATE_FILE_MODE


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


def _save(path: Path, data: bytes) -> None:
    """Write member data 0600, like the database, whatever the umask; a file an
    earlier export left at a laxer mode is made 0600 before the new data goes in."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    with os.fdopen(descriptor, "wb") as handle:
        os.fchmod(descriptor, PRIVATE_FILE_MODE)
        handle.write(data)


def _files(
    format_: Format, base: str, tables: dict[str, list[dict[str, Any]]]
) -> dict[str, bytes]:
    """File name -> content. CSV and XLSX text never becomes a formula."""
    if format_ is Format.JSON:
        text = json.dumps(tables, ensure_ascii=False, indent=2, default=str)
        return {f"{base}.json": text.encode()}
    if format_ is Format.XLSX:
        return {f"{base}.xlsx": xlsx_bytes(tables)}
    return {
        f"{base}-{name}.csv": csv_text(rows).encode() for name, rows in tables.items()
    }


def register(app: typer.Typer) -> None:
    @app.command("export")
    def export(
        name: Annotated[str, typer.Argument(help="Integration name or id.")],
        format_: Annotated[
            Format,
            typer.Option("--format", help="csv (one file per table), json or xlsx."),
        ] = Format.CSV,
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
        for filename, data in _files(format_, slug(integration.name), tables).items():
            path = out / filename
            try:
                _save(path, data)
            except OSError as error:
                fail(f"cannot write {path}: {error.strerror}", EXIT_BAD_INPUT)
            console.print(f"wrote {path}")
