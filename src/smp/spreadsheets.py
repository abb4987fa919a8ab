"""CSV and XLSX for every export (CLI, API, web): no text becomes a formula.

Names, e-mail addresses and labels come from SendGrid, and anyone who can edit
a teammate there chooses them. A first name `=HYPERLINK("http://x.example","y")`
must reach a spreadsheet as that text, never as a live formula. All exports go
through this one module so the three cannot drift apart again.

- CSV has no cell types: spreadsheet programs run a cell that starts with `=`,
  `+`, `-` or `@`, and some strip a leading tab or CR first. Such text gets a
  leading `'` (OWASP's advice against CSV injection). A plain number such as
  `-12.50` (an invoice's exact amount, given as text) cannot be a formula and
  is left alone, so it stays a number in the spreadsheet.
- XLSX has cell types: text is written as a string cell, which no spreadsheet
  evaluates, so it keeps its exact text (but for a carriage return, which
  XML reads back as a line feed).

Pure formatting, no I/O: callers write the text or bytes where they belong.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from os import PathLike
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

    CellMaker = Callable[[WriteOnlyWorksheet, object], WriteOnlyCell]

Row = Mapping[str, object]
Rows = Sequence[Row]

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
# Excel's sheet names: at most 31 characters, none of these.
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def neutralised(text: str) -> str:
    """`text` as a CSV cell that no spreadsheet program runs as a formula."""
    if text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def columns(rows: Rows) -> list[str]:
    """Every key of every row, in first-seen order."""
    return list(dict.fromkeys(key for row in rows for key in row))


def csv_text(rows: Rows) -> str:
    """One table as CSV; no header at all when there are no rows."""
    out = io.StringIO()
    names = columns(rows)
    if names:
        writer = csv.writer(out)
        writer.writerow(names)
        for row in rows:
            writer.writerow([_csv_cell(row.get(name)) for name in names])
    return out.getvalue()


def xlsx_bytes(sheets: Mapping[str, Rows]) -> bytes:
    """A workbook with one sheet per table; every text is a string cell."""
    tables = [(name, columns(rows), rows) for name, rows in sheets.items()]
    out = io.BytesIO()
    write_xlsx(out, [(n, names, _values(rows, names)) for n, names, rows in tables])
    return out.getvalue()


def _values(rows: Rows, names: Sequence[str]) -> Iterable[list[object]]:
    return ([row.get(name) for name in names] for row in rows)


def write_xlsx(
    target: str | PathLike[str] | IO[bytes],
    sheets: Iterable[tuple[str, Sequence[str], Iterable[Sequence[object]]]],
) -> None:
    """A workbook written to `target`, one sheet per (name, header, rows).

    Rows are consumed one at a time (openpyxl's write-only mode keeps each
    sheet in a temporary file), so a caller can stream a 200,000-row table
    from the database without holding it in memory. Every text is a string
    cell, as in `xlsx_bytes`.
    """
    from openpyxl import Workbook  # imported when needed: it slows every start

    cell = _xlsx_cell_maker()  # once, not once per cell of a large export
    book = Workbook(write_only=True)
    for name, header, rows in sheets:
        sheet = book.create_sheet(_SHEET_NAME_FORBIDDEN.sub("-", name)[:31])
        sheet.append([cell(sheet, title) for title in header])
        for values in rows:
            sheet.append([cell(sheet, value) for value in values])
    if not book.worksheets:  # a workbook needs a sheet to open at all
        book.create_sheet("empty")
    book.save(target)


def _csv_cell(value: object) -> object:
    return neutralised(value) if isinstance(value, str) else value


def _xlsx_cell_maker() -> CellMaker:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def cell(sheet: WriteOnlyWorksheet, value: object) -> WriteOnlyCell:
        if value is None or isinstance(value, bool | int | float):
            return WriteOnlyCell(sheet, value=value)
        if isinstance(value, dict | list | tuple):
            text = json.dumps(value, ensure_ascii=False, default=str)
        else:
            text = str(value)
        # XML cannot hold most control characters; openpyxl refuses them.
        made = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("\ufffd", text))
        # openpyxl makes any text that starts with "=" a formula; text stays text.
        made.data_type = "s"
        return made

    return cell
