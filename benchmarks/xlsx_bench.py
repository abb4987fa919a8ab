"""Benchmark: writing the evidence pack's workbook with each XLSX writer
(issue 24: the whole export of 200,000 items <= 30 s, peak RSS <= 300 MB).

The sheet has the pack's shape (smp.services.review_pack.ITEM_COLUMNS: 24
columns, mostly text, the item id a number, some cells empty), split into
one sheet per integration. Candidates, run alternately (A B C D A B C D ...)
so a busy machine slows each of them alike:

* openpyxl: `Workbook(write_only=True)`;
* xlsxwriter: XlsxWriter with `{"constant_memory": True}`, `write_string`
  (`write_row` measured no faster);
* pyexcelerate: PyExcelerate, which takes each sheet as a whole list of rows
  (and writes text starting with `=` as a formula: the pack's rows have none);
* smp: `smp.spreadsheets.write_xlsx` as it is.

Each write runs in its own process, which reports its time and its own peak
RSS (the interpreter and the imports included); every file is then read back
by openpyxl, a few cells checked. XlsxWriter and PyExcelerate are not SMP's
dependencies: `pip install xlsxwriter pyexcelerate` first (ADR 25).

    .venv/bin/python benchmarks/xlsx_bench.py [--rows 200000]
        [--sheets 200] [--rounds 3] [--candidates openpyxl,xlsxwriter,...]
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook

from smp.services.review_pack import ITEM_COLUMNS

CANDIDATES = ("openpyxl", "xlsxwriter", "pyexcelerate", "smp")
HEADER = [title for title, _ in ITEM_COLUMNS]
Sheet = tuple[str, Iterator[list[object]]]


def _row(item: int) -> list[object]:
    """One item as the pack writes it: text, the id a number, None empty."""
    decided = item % 2 == 0
    person = f"person{item % 50_000}"
    return [
        item,
        "teammate" if item % 5 else "subuser",
        f"acct-{item:07d}",
        f"{person}@example.com",
        person,
        f"Person {item % 50_000} Lastname",
        ("Engineering", "Sales", "Finance", "Support")[item % 4],
        f"manager{item % 900}@example.com",
        ("admin", "developer", "read-only")[item % 3],
        "mail.send, templates.read, stats.read, suppression.read" * (1 + item % 2),
        "yes" if item % 3 else "no",
        "no",
        "yes" if item % 7 else "not read",
        ("active", "leaver", "unknown")[item % 3],
        "Admin without SSO (high); Unused key (low)" if item % 4 == 0 else "",
        f"reviewer{item % 40}",
        "keep" if decided else None,
        None,
        "still in the team" if decided else None,
        "bench" if decided else None,
        "2026-12-05T10:00:00Z" if decided else None,
        "none",
        None,
        "" if decided else f"Remove {person}@example.com from the team.",
    ]


def sheets(rows: int, count: int) -> Iterator[Sheet]:
    """`rows` items over `count` sheets, each a generator (streamed)."""
    per_sheet = -(-rows // count)
    for start in range(0, rows, per_sheet):
        stop = min(start + per_sheet, rows)
        yield (
            f"Integration {start // per_sheet + 1}",
            (_row(item) for item in range(start + 1, stop + 1)),
        )


def _openpyxl(path: Path, rows: int, count: int) -> None:
    book = Workbook(write_only=True)
    for name, values in sheets(rows, count):
        sheet = book.create_sheet(name)
        sheet.append(HEADER)
        for row in values:
            sheet.append(row)
    book.save(path)


def _library(name: str) -> Any:
    """A candidate that is not one of SMP's dependencies, imported by name."""
    return importlib.import_module(name)


def _xlsxwriter(path: Path, rows: int, count: int) -> None:
    with _library("xlsxwriter").Workbook(str(path), {"constant_memory": True}) as book:
        for name, values in sheets(rows, count):
            sheet = book.add_worksheet(name)
            sheet.write_row(0, 0, HEADER)
            for number, row in enumerate(values, start=1):
                for column, value in enumerate(row):
                    if type(value) is str:
                        sheet.write_string(number, column, value)
                    elif value is not None:
                        sheet.write_number(number, column, value)


def _pyexcelerate(path: Path, rows: int, count: int) -> None:
    book = _library("pyexcelerate").Workbook()
    for name, values in sheets(rows, count):
        # It wants each sheet whole: a list of rows, not a generator.
        book.new_sheet(name, data=[HEADER, *values])
    book.save(str(path))


def _smp(path: Path, rows: int, count: int) -> None:
    from smp.spreadsheets import write_xlsx

    write_xlsx(path, ((name, HEADER, values) for name, values in sheets(rows, count)))


WRITERS: dict[str, Callable[[Path, int, int], None]] = {
    "openpyxl": _openpyxl,
    "xlsxwriter": _xlsxwriter,
    "pyexcelerate": _pyexcelerate,
    "smp": _smp,
}


def child(candidate: str, path: Path, rows: int, count: int) -> None:
    """One write in this process: its seconds and its own peak RSS."""
    started = time.perf_counter()
    WRITERS[candidate](path, rows, count)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak_mb}))


def check(path: Path, rows: int, count: int) -> None:
    """The file opens in openpyxl and holds the first and the last item."""
    book = load_workbook(path, read_only=True)
    try:
        first = [c.value for c in next(book.worksheets[0].iter_rows(max_row=2))]
        if first != HEADER:
            raise SystemExit(f"{path.name}: header read back as {first[:3]}")
        (cells,) = book.worksheets[0].iter_rows(min_row=2, max_row=2)
        if [c.value for c in cells[:4]] != _row(1)[:4]:
            raise SystemExit(f"{path.name}: first item read back wrong")
        last_rows = list(book.worksheets[-1].iter_rows(values_only=True))
        if last_rows[-1][0] != rows or last_rows[-1][2] != _row(rows)[2]:
            raise SystemExit(f"{path.name}: last item read back as {last_rows[-1][:2]}")
        if len(book.worksheets) != min(count, rows):
            raise SystemExit(f"{path.name}: {len(book.worksheets)} sheets")
    finally:
        book.close()


def measure(candidate: str, rows: int, count: int, directory: Path) -> dict[str, Any]:
    path = directory / f"{candidate}.xlsx"
    command = [sys.executable, __file__, "--child", candidate, "--out", str(path)]
    done = subprocess.run(
        [*command, f"--rows={rows}", f"--sheets={count}"],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    check(path, rows, count)
    result["mb"] = path.stat().st_size / 2**20
    path.unlink()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--sheets", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--candidates", default=",".join(CANDIDATES))
    parser.add_argument("--child", choices=CANDIDATES, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        child(options.child, options.out, options.rows, options.sheets)
        return
    if min(options.rows, options.sheets, options.rounds) < 1:
        parser.error("--rows, --sheets and --rounds must be at least 1")
    names = [name for name in options.candidates.split(",") if name]
    unknown = sorted(set(names) - set(CANDIDATES))
    if unknown:
        parser.error(f"unknown candidates: {', '.join(unknown)}")
    missing = [n for n in names if n != "smp" and not importlib.util.find_spec(n)]
    if missing:
        parser.error(f"not installed: pip install {' '.join(missing)}")
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="xlsx-bench-") as directory:
        for _ in range(options.rounds):
            for name in names:  # alternately: A B C D A B C D ...
                runs[name].append(
                    measure(name, options.rows, options.sheets, Path(directory))
                )
    results = {
        name: {
            "median_s": round(statistics.median(r["seconds"] for r in done), 2),
            "peak_rss_mb": round(max(r["peak_rss_mb"] for r in done)),
            "file_mb": round(done[0]["mb"], 1),
            "seconds": [round(r["seconds"], 2) for r in done],
        }
        for name, done in runs.items()
    }
    print(json.dumps({"benchmark": "xlsx", "rows": options.rows, **results}))


if __name__ == "__main__":
    main()
