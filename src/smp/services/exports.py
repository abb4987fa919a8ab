"""Every export, in one place: a dataset to download (API, web) and a whole
integration to files (CLI).

CSV and XLSX come from `smp.spreadsheets`, so no exported name can become a
spreadsheet formula. Exports hold no secrets: sources are shown as
`SG.<key id>…`. Pure content: callers write it to a response or a file.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, Literal

from pydantic_core import to_jsonable_python
from sqlalchemy.orm import Session

from smp.model import MemberStatus
from smp.services import read_shapes
from smp.services.access_rows import access_tables
from smp.services.api_keys import api_key_rows, teammate_scope_rows
from smp.services.read_shapes import (
    Sources,
    event_item,
    invoice_item,
    member_item,
    subuser_item,
)
from smp.spreadsheets import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, csv_text, xlsx_bytes
from smp.storage import (
    list_invoices,
    list_member_events,
    list_members,
    list_monthly_volumes,
    list_subusers,
)

ExportFormat = Literal["csv", "xlsx", "json"]  # the API and web query parameter


class Format(StrEnum):
    """The CLI's choice (a typer option takes an enum, not a Literal)."""

    CSV = "csv"
    JSON = "json"
    XLSX = "xlsx"


JSON_MEDIA_TYPE = "application/json"
Table = list[dict[str, Any]]


class Dataset(StrEnum):
    MEMBERS = "members"
    MEMBER_EVENTS = "member-events"
    SUBUSERS = "subusers"
    INVOICES = "invoices"
    VOLUMES = "volumes"


def rows(
    session: Session, integration_id: int, dataset: Dataset, now: dt.datetime
) -> Table:
    """One dataset as the API lists it; `now` decides which invites have expired."""
    source = Sources(session, integration_id)
    items: list[dict[str, Any]]
    if dataset is Dataset.MEMBERS:
        found_members = list_members(session, integration_id)
        items = [member_item(m, source, now) for m in found_members]
    elif dataset is Dataset.MEMBER_EVENTS:
        found = list_member_events(session, integration_id, limit=None)
        items = [event_item(e, source) for e in found]
    elif dataset is Dataset.SUBUSERS:
        found_subusers = list_subusers(session, integration_id)
        items = [subuser_item(s, source, now) for s in found_subusers]
    elif dataset is Dataset.INVOICES:
        items = [
            invoice_item(i, source) for i in list_invoices(session, integration_id)
        ]
    else:
        found_volumes = list_monthly_volumes(session, integration_id, all_subusers=True)
        items = [
            {"month": v.month, "subuser": v.subuser, **asdict(v.metrics)}
            for v in found_volumes
        ]
    # Dates and enums as the API's JSON writes them.
    return [to_jsonable_python(item) for item in items]


@dataclass(frozen=True, slots=True)
class Download:
    """A file to save: its content, type and the headers that name it."""

    content: bytes
    media_type: str
    filename: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Content-Disposition": f'attachment; filename="{self.filename}"'}


def download(
    data: Table, integration_id: int, dataset: Dataset, format: ExportFormat
) -> Download:
    """The rows as a file to save: the API's exports and the web's."""
    filename = f"smp-{integration_id}-{dataset.value}.{format}"
    if format == "json":
        # Compact UTF-8, as a JSON response writes it.
        text = json.dumps(
            data, ensure_ascii=False, allow_nan=False, separators=(",", ":")
        )
        return Download(text.encode(), JSON_MEDIA_TYPE, filename)
    if format == "xlsx":
        return Download(xlsx_bytes({dataset.value: data}), XLSX_MEDIA_TYPE, filename)
    return Download(csv_text(data).encode(), CSV_MEDIA_TYPE, filename)


# --- the CLI's `smp export`: every table of one integration -----------------------


def slug(name: str) -> str:
    """A file-name part from an integration's name: `../../etc` cannot escape."""
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


def tables(session: Session, integration_id: int) -> dict[str, Table]:
    """Members, removed members, subusers, invoices, usage, volume and history,
    in the CLI's JSON shapes (nested values flattened for spreadsheets)."""
    usage = read_shapes.usage(session, integration_id)
    monthly = [{"subuser": None, **m} for m in usage["monthly"]] + [
        {"subuser": s["username"], **m} for s in usage["subusers"] for m in s["monthly"]
    ]
    return {
        "members": read_shapes.members(session, integration_id),
        "removed_members": read_shapes.members(
            session, integration_id, status=MemberStatus.REMOVED
        ),
        "subusers": [_flat(s) for s in read_shapes.subusers(session, integration_id)],
        "invoices": read_shapes.invoices(session, integration_id),
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
        "history": read_shapes.history(session, integration_id),
        "api_keys": api_key_rows(session, integration_id),
        "teammate_scopes": teammate_scope_rows(session, integration_id),
        **access_tables(session, integration_id),
    }


def files(format: Format, base: str, found: dict[str, Table]) -> dict[str, bytes]:
    """File name -> content: one JSON or XLSX file, or one CSV file per table."""
    if format is Format.JSON:
        text = json.dumps(found, ensure_ascii=False, indent=2, default=str)
        return {f"{base}.json": text.encode()}
    if format is Format.XLSX:
        return {f"{base}.xlsx": xlsx_bytes(found)}
    return {
        f"{base}-{name}.csv": csv_text(rows).encode() for name, rows in found.items()
    }
