"""Directory files as HR tools and spreadsheets write them, built for tests.

CSV in the encodings and separators found in the wild, XLSX written by
openpyxl (typed cells: dates, numbers), and a huge file that costs no disk.
Written here, independently of SMP's reader, so the tests compare SMP's
reading with what was written.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import uuid
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from smp.storage.tables import PersonRow

Cells = Sequence[object]

HEADER = (
    "email",
    "employee_id",
    "first_name",
    "last_name",
    "department",
    "manager_email",
    "status",
    "type",
    "start_date",
    "end_date",
    "aliases",
)


def csv_text(rows: Sequence[Cells], *, separator: str = ",") -> str:
    """Rows as CSV text (quoted where needed), lines ended by CRLF as Excel does."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=separator, lineterminator="\r\n")
    writer.writerows(
        ["" if cell is None else str(cell) for cell in row] for row in rows
    )
    return out.getvalue()


def encoded(text: str, encoding: str) -> bytes:
    """`text` in `encoding`; "utf-8-bom", "utf-16-le-bom" and "utf-16-be-bom"
    spell the BOM out, "utf-16-le" and "utf-16-be" have none."""
    boms = {
        "utf-8-bom": (codecs.BOM_UTF8, "utf-8"),
        "utf-16-le-bom": (codecs.BOM_UTF16_LE, "utf-16-le"),
        "utf-16-be-bom": (codecs.BOM_UTF16_BE, "utf-16-be"),
    }
    if encoding in boms:
        bom, codec = boms[encoding]
        return bom + text.encode(codec)
    return text.encode(encoding)


def xlsx_file(
    rows: Sequence[Cells | None], *, leading: Sequence[Cells | None] = ()
) -> bytes:
    """A workbook whose first sheet holds `leading` rows, then `rows`; a None
    row is left empty, so the sheet has a gap there."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for number, row in enumerate([*leading, *rows], start=1):
        for column, value in enumerate(row or (), start=1):
            if value is not None:
                sheet.cell(row=number, column=column, value=value)  # type: ignore[arg-type]
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def sparse_file(path: Path, size: int) -> Path:
    """A file of `size` bytes that takes no disk space: a header, then a hole."""
    with path.open("wb") as handle:
        handle.write(b"email,first_name\n")
        handle.truncate(size)
    return path


def person(email: str, **fields: object) -> list[object]:
    """One row under HEADER: the e-mail and the named fields, the rest empty."""
    values = {"email": email, **fields}
    unknown = set(values) - set(HEADER)
    assert not unknown, unknown
    return [values.get(name) for name in HEADER]


def unique_source() -> str:
    """A source of the test's own: tests sharing a database stay apart."""
    return f"hr-{uuid.uuid4().hex[:8]}"


def stored_people(engine: Engine, source: str) -> dict[str, PersonRow]:
    """The source's people as stored, by e-mail as written."""
    with Session(engine, expire_on_commit=False) as session:
        rows = session.scalars(select(PersonRow).where(PersonRow.source == source))
        found = {row.email: row for row in rows}
        session.expunge_all()
    return found


def stamp(day: dt.date) -> dt.datetime:
    """Noon UTC of `day`: an import's `now`."""
    return dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
