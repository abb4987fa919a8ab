"""Reading a directory file (an HR export): its bytes -> header and rows.

People export their directory from an HR tool or from Excel, so the file is
CSV in whatever encoding and separator that tool chose, or an XLSX workbook.
This module only reads: it finds the known columns and hands back each row's
cells with the file's line number (the header is line 1), so that every error
points at a line the user can find in their editor or spreadsheet. Checking
the values is `smp.services.people_import`'s job.

A file SMP cannot read at all is refused with one sentence (`Refused`),
saying how to save it so that SMP can.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import math
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from smp.services.refusals import Refused
from smp.storage.people import PERSON_COLUMNS

# Far above any company's directory (50,000 people take about 8 MB as CSV),
# low enough that a wrong file is refused before it fills the memory.
MAX_FILE_BYTES = 25 * 1024 * 1024
MAX_FILE_WORDS = "25 MB"
# An XLSX is a zip: its sheets may hold far more than the file's size.
MAX_UNPACKED_BYTES = 8 * MAX_FILE_BYTES
MAX_ROWS = 250_000

# The known columns: what SMP keeps of a person (email first).
COLUMNS = PERSON_COLUMNS
# Read as dates: an XLSX date cell arrives as a datetime.
DATE_COLUMNS = frozenset({"start_date", "end_date"})

CSV_SUFFIXES = frozenset({"", ".csv", ".txt", ".tsv"})
XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm"})
# The separators a spreadsheet program writes: `;` where `,` is the decimal
# comma, tab for Excel's "Unicode Text".
SEPARATORS = (",", ";", "\t")
_SEPARATOR_HINT = re.compile(r"sep=([,;\t|])", re.IGNORECASE)

HOW_TO_SAVE = (
    "save it from your spreadsheet as 'CSV UTF-8 (comma delimited)' or as "
    "an Excel workbook (.xlsx)"
)

Cell = str | dt.date


@dataclass(frozen=True, slots=True)
class FileRow:
    """One row: its line in the file, and the known columns' cells (trimmed
    text, or a date for a date cell of an XLSX; absent when empty)."""

    line: int
    cells: dict[str, Cell]


@dataclass(frozen=True, slots=True)
class DirectoryFile:
    columns: tuple[str, ...]  # the known columns found, in the file's order
    ignored: tuple[str, ...]  # headers SMP does not know, as written
    rows: list[FileRow]  # rows with at least one cell, in file order


def read_directory_file(data: bytes, filename: str) -> DirectoryFile:
    """The file's rows; Refused when it is no CSV or XLSX SMP can read."""
    if len(data) > MAX_FILE_BYTES:
        raise too_large()
    if not data.strip():
        raise Refused("the file is empty", field="file")
    suffix = file_suffix(filename)
    if data.startswith(b"\xd0\xcf\x11\xe0"):  # the OLE container of .xls
        raise Refused(
            f"this is an old Excel file (.xls), which SMP cannot read: {HOW_TO_SAVE}",
            field="file",
        )
    # A zip named .csv (or with no suffix) is a workbook saved under another
    # name; a zip named .docx or .zip is another kind of file, said as such.
    zipped = data.startswith(b"PK\x03\x04") and suffix in CSV_SUFFIXES
    if suffix in XLSX_SUFFIXES or zipped:
        table = _xlsx_rows(data)
    elif suffix in CSV_SUFFIXES:
        table = _csv_rows(_decoded(data))
    else:
        raise Refused(
            f"a {suffix} file is not a directory SMP can read: use CSV or XLSX",
            field="file",
        )
    return _directory(table)


def too_large(size: int | None = None) -> Refused:
    """A file over MAX_FILE_BYTES; `size` when known (the web reads only one
    byte more than allowed, so the bytes' length is not the file's size)."""
    if size is None:
        return Refused(
            f"the file is larger than the {MAX_FILE_WORDS} a directory file may be",
            field="file",
        )
    # Rounded up: a file just over the limit must not read as "25.0 MB".
    megabytes = math.ceil(size * 10 / 1024 / 1024) / 10
    return Refused(
        f"the file is {megabytes:,.1f} MB: a directory file may be at most "
        f"{MAX_FILE_WORDS}",
        field="file",
    )


def file_suffix(filename: str) -> str:
    """The lower-case extension of a name from any system ('' when none)."""
    return PurePosixPath(PureWindowsPath(filename).name).suffix.lower()


def file_stem(filename: str) -> str:
    """The name without folders or extension, from any system."""
    return PurePosixPath(PureWindowsPath(filename).name).stem


# --- CSV -----------------------------------------------------------------


def _decoded(data: bytes) -> str:
    """The text of a CSV: UTF-8 (BOM or not) or UTF-16 (BOM, or NULs showing it)."""
    if data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = _utf16_without_bom(data[:4096]) or "utf-8"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise Refused(
            f"line {line} of the file is neither UTF-8 nor UTF-16 text (another "
            f"encoding such as Windows-1252, or not text at all): {HOW_TO_SAVE}",
            field="file",
        ) from None


def _utf16_without_bom(sample: bytes) -> str | None:
    """UTF-16 written without its BOM: ASCII text with a NUL beside each letter."""
    even, odd = sample[0::2], sample[1::2]
    if len(sample) < 4 or b"\x00" not in sample:
        return None
    if odd.count(0) > len(odd) * 0.9 and even.count(0) < len(even) * 0.1:
        return "utf-16-le"
    if even.count(0) > len(even) * 0.9 and odd.count(0) < len(odd) * 0.1:
        return "utf-16-be"
    return None


def _separator(header_line: str) -> str:
    """The separator the header uses most, counted outside quotes."""
    unquoted = re.sub(r'"[^"]*"', "", header_line)
    counts = {sep: unquoted.count(sep) for sep in SEPARATORS}
    return max(SEPARATORS, key=lambda sep: counts[sep])


def _csv_rows(text: str) -> Iterator[tuple[int, Sequence[Any]]]:
    """(line where the row starts, its cells) for each row of the CSV."""
    lines = io.StringIO(text, newline="")
    first = lines.readline()
    hint = _SEPARATOR_HINT.fullmatch(first.rstrip("\r\n"))
    if hint:  # Excel's "sep=;" line names the separator; it is no row
        separator, start = hint.group(1), 2
    else:
        separator, start = _separator(first), 1
        lines.seek(0)
    reader = csv.reader(lines, delimiter=separator)
    line_offset = start - 1
    try:
        for cells in reader:
            yield start, cells
            # A quoted cell may span lines: the next row starts after them all.
            start = line_offset + reader.line_num + 1
    except csv.Error as error:
        raise Refused(
            f"the CSV cannot be read at line {start}: {error}", field="file"
        ) from None


# --- XLSX ----------------------------------------------------------------


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, Sequence[Any]]]:
    """(row number, cells) for each row of the workbook's first sheet."""
    from openpyxl import load_workbook  # imported when needed: slow to import

    corrupt = Refused(
        f"the XLSX file is damaged or not a workbook: {HOW_TO_SAVE}", field="file"
    )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(item.file_size for item in archive.infolist())
        if unpacked > MAX_UNPACKED_BYTES:
            raise Refused(
                f"the workbook unpacks to {unpacked // 1024 // 1024:,} MB, more "
                f"than the {MAX_UNPACKED_BYTES // 1024 // 1024} MB SMP reads",
                field="file",
            )
        # data_only: a formula's value as Excel last computed it, not "=A1".
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Refused:
        raise
    except Exception:  # openpyxl raises anything on a bad file
        raise corrupt from None
    return _sheet_rows(book, corrupt)


def _sheet_rows(book: Any, corrupt: Refused) -> Iterator[tuple[int, Sequence[Any]]]:
    try:
        sheet = book.worksheets[0]
        # Some programs write a wrong size in the sheet; read it all instead.
        sheet.reset_dimensions()
        rows = sheet.iter_rows(min_row=1, values_only=True)
        yield from enumerate(rows, start=1)
    except Refused:
        raise
    except Exception:  # a bad sheet shows only as it is read
        raise corrupt from None
    finally:
        book.close()


# --- rows ----------------------------------------------------------------


def header_key(text: str) -> str:
    """A header as compared: case, spaces, '-' and '_' ignored ('E-mail' = 'email')."""
    return re.sub(r"[\s_\-]+", "", text).casefold()


_KNOWN = {header_key(name): name for name in COLUMNS}


def _directory(table: Iterator[tuple[int, Sequence[Any]]]) -> DirectoryFile:
    rows = iter(table)
    header: tuple[int, Sequence[Any]] | None = None
    for line, cells in rows:
        if any(_text(cell) for cell in cells):
            header = (line, cells)
            break
    if header is None:
        raise Refused("the file is empty", field="file")
    positions, ignored = _header(header[1])
    found: list[FileRow] = []
    for line, cells in rows:
        row = _row(line, cells, positions)
        if row is not None:
            found.append(row)
            if len(found) > MAX_ROWS:
                raise Refused(
                    f"the file has more than {MAX_ROWS:,} people; "
                    "SMP imports at most that many at once",
                    field="file",
                )
    if not found:
        raise Refused("the file has a header but no people", field="file")
    return DirectoryFile(tuple(positions), ignored, found)


def _header(cells: Sequence[Any]) -> tuple[dict[str, int], tuple[str, ...]]:
    positions: dict[str, int] = {}
    ignored: list[str] = []
    for index, cell in enumerate(cells):
        text = _text(cell)
        name = _KNOWN.get(header_key(text))
        if name is None:
            if text:
                ignored.append(text)
            continue
        if name in positions:
            raise Refused(
                f"the column {name} appears twice in the header "
                f"(columns {positions[name] + 1} and {index + 1})",
                field="file",
            )
        positions[name] = index
    if "email" not in positions:
        raise Refused(
            "the header has no email column; the first row must name the "
            f"columns, with at least email (known: {', '.join(COLUMNS)})",
            field="file",
        )
    return positions, tuple(ignored)


def _row(line: int, cells: Sequence[Any], positions: dict[str, int]) -> FileRow | None:
    found: dict[str, Cell] = {}
    size = len(cells)
    for name, index in positions.items():
        if index >= size:
            continue
        cell = cells[index]
        if name in DATE_COLUMNS and isinstance(cell, dt.date):
            found[name] = cell.date() if isinstance(cell, dt.datetime) else cell
            continue
        text = _text(cell)
        if text:
            found[name] = text
    return FileRow(line, found) if found else None


def _text(cell: Any) -> str:
    """A cell as trimmed text; 1234.0 (a number cell) reads as '1234'."""
    if type(cell) is str:  # every CSV cell: checked first
        return cell.strip()
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, dt.datetime) and cell.time() == dt.time():
        return cell.date().isoformat()
    if isinstance(cell, dt.date | dt.datetime):
        return cell.isoformat()
    return str(cell).strip()
