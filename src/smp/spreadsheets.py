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
  XML reads back as a line feed, and the control characters XML cannot hold,
  written as U+FFFD).

Pure formatting, no I/O: callers write the text or bytes where they belong.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from os import PathLike
from typing import IO
from xml.sax.saxutils import escape as xml_escape

Row = Mapping[str, object]
Rows = Sequence[Row]

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
# Excel holds at most 32,767 characters a cell; a longer one makes it
# "repair" the whole file, so the text is cut and says so.
CELL_LIMIT = 32_767
CUT_NOTE = " … (cut: a spreadsheet cell holds 32,767 characters)"
# SpreadsheetML reads `_xHHHH_` as an escaped character; a literal one gets
# its underscore escaped (`_x005F_`) so it reads back as it was written.
# The lookahead leaves the run's closing underscore free to open the next one
# (`_x0041_x0042_` holds two).
_ESCAPE_LIKE = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")
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

    Rows are consumed one at a time and streamed into the zip, so a caller
    can write a 200,000-row table from the database without holding it in
    memory. The sheets are SpreadsheetML written here rather than through a
    library: openpyxl's write-only mode, XlsxWriter and PyExcelerate each
    put a 200,000-item evidence pack over its 30 s or 300 MB (ADR 25,
    benchmarks/xlsx_bench.py); this is 5 to 13 times faster. Only the parts
    every reader needs are written (the workbook, its sheets, one plain
    style); the tests read every workbook back with openpyxl.
    """
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        names: list[str] = []
        for name, header, rows in sheets:
            names.append(_sheet_title(name, names))
            part = f"xl/worksheets/sheet{len(names)}.xml"
            with book.open(part, "w", force_zip64=True) as sheet:
                _write_sheet(sheet, header, rows)
        if not names:  # a workbook needs a sheet to open at all
            names.append("empty")
            book.writestr("xl/worksheets/sheet1.xml", _SHEET_HEAD + _SHEET_TAIL)
        for part, text in _package_parts(names).items():
            book.writestr(part, text)


# The SpreadsheetML parts around the sheets (ECMA-376 part 1, the minimum).
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_SHEET_HEAD = f'{_XML_HEAD}<worksheet xmlns="{_MAIN}"><sheetData>'
_SHEET_TAIL = "</sheetData></worksheet>"
_STYLES = (
    f'{_XML_HEAD}<styleSheet xmlns="{_MAIN}">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/>'
    "</border></borders>"
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
    "</cellStyleXfs>"
    '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" '
    'xfId="0"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
    "</cellStyles></styleSheet>"
)
# XML 1.0 cannot hold these control characters at all.
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _sheet_title(name: str, taken: Sequence[str]) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\, no quote at
    either end, unique without case."""
    title = _SHEET_NAME_FORBIDDEN.sub("-", name).strip("'")[:31] or "Sheet"
    used = {t.casefold() for t in taken}
    number = 1
    base = title
    while title.casefold() in used:
        number += 1
        suffix = f" ({number})"
        title = base[: 31 - len(suffix)] + suffix
    return title


def _utf16_units(text: str) -> int:
    """Excel counts a cell's length in UTF-16 units: an emoji is two."""
    return len(text.encode("utf-16-le")) // 2


def _cut(text: str) -> str:
    """`text` cut to fit a cell with CUT_NOTE after it."""
    room = CELL_LIMIT - _utf16_units(CUT_NOTE)
    kept = text[:room]
    while _utf16_units(kept) > room:  # astral characters count twice
        kept = kept[: len(kept) - (_utf16_units(kept) - room + 1) // 2 - 1]
    return kept + CUT_NOTE


def _cell_xml(value: object) -> str:
    """One cell; text is always a string cell, so nothing becomes a formula.
    (No `r` attribute: cells follow each other, an empty one as `<c/>`.)"""
    if type(value) is str:  # most cells: checked first, it is the hot path
        text = value
    elif value is None:
        return "<c/>"
    elif isinstance(value, bool):
        return f'<c t="b"><v>{int(value)}</v></c>'
    elif isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        return f"<c><v>{value!r}</v></c>"
    elif isinstance(value, dict | list | tuple):
        text = json.dumps(value, ensure_ascii=False, default=str)
    else:
        text = str(value)
    if len(text) > CELL_LIMIT // 2 and _utf16_units(text) > CELL_LIMIT:
        text = _cut(text)
    if "_x" in text:
        text = _ESCAPE_LIKE.sub("_x005F_", text)
    text = xml_escape(_ILLEGAL_XML.sub("\ufffd", text))
    return f'<c t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def _write_sheet(
    out: IO[bytes], header: Sequence[str], rows: Iterable[Sequence[object]]
) -> None:
    out.write(_SHEET_HEAD.encode())
    for values in itertools.chain([header], rows):
        cells = "".join([_cell_xml(value) for value in values])
        out.write(f"<row>{cells}</row>".encode())
    out.write(_SHEET_TAIL.encode())


def _package_parts(names: Sequence[str]) -> dict[str, str]:
    numbers = range(1, len(names) + 1)
    sheets = "".join(
        f'<sheet name="{xml_escape(name, {chr(34): "&quot;"})}" sheetId="{n}" '
        f'r:id="rId{n}"/>'
        for n, name in zip(numbers, names, strict=True)
    )
    rels = "".join(
        f'<Relationship Id="rId{n}" Type="{_REL}/worksheet" '
        f'Target="worksheets/sheet{n}.xml"/>'
        for n in numbers
    )
    styles_id = len(names) + 1
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{n}.xml" '
        f'ContentType="{_TYPE}.worksheet+xml"/>'
        for n in numbers
    )
    return {
        "[Content_Types].xml": (
            f'{_XML_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/'
            '2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-'
            'package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            f'ContentType="{_TYPE}.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{_TYPE}.styles+xml"/>'
            f"{overrides}</Types>"
        ),
        "_rels/.rels": (
            f'{_XML_HEAD}<Relationships xmlns="{_PKG_REL}">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'{_XML_HEAD}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
            f"<sheets>{sheets}</sheets></workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            f'{_XML_HEAD}<Relationships xmlns="{_PKG_REL}">{rels}'
            f'<Relationship Id="rId{styles_id}" Type="{_REL}/styles" '
            'Target="styles.xml"/></Relationships>'
        ),
        "xl/styles.xml": _STYLES,
    }


def _csv_cell(value: object) -> object:
    return neutralised(value) if isinstance(value, str) else value
