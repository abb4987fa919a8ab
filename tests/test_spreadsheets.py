"""The export formatting itself: which CSV text gets a quote, what XLSX cells hold."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest
from openpyxl import load_workbook

from smp.spreadsheets import csv_text, xlsx_bytes

RUN_BY_SPREADSHEETS = ["=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1", "-", "+"]
PLAIN = ["Ana", "1+1", "a=b", "", " =1", "'=1", "-12.50", "+3", "-.5", "42"]


@pytest.mark.parametrize("text", RUN_BY_SPREADSHEETS)
def test_csv_text_a_spreadsheet_would_run_gets_a_quote(text: str) -> None:
    (row,) = csv.DictReader(io.StringIO(csv_text([{"name": text}]), newline=""))
    assert row["name"] == "'" + text


@pytest.mark.parametrize("text", PLAIN)
def test_other_csv_text_and_plain_numbers_are_left_alone(text: str) -> None:
    (row,) = csv.DictReader(io.StringIO(csv_text([{"name": text}]), newline=""))
    assert row["name"] == text


def test_csv_columns_are_every_rows_keys() -> None:
    text = csv_text([{"a": 1}, {"b": -2, "a": None}])
    assert list(csv.reader(io.StringIO(text))) == [["a", "b"], ["1", ""], ["", "-2"]]
    assert csv_text([]) == ""


def test_xlsx_cells_are_values_of_their_type() -> None:
    rows = [
        {"text": "=1+1", "int": -3, "float": 2.5, "bool": True, "none": None},
        {"text": "a\x01b", "list": ["=x", 1], "dict": {"k": "@v"}},
    ]
    book = load_workbook(io.BytesIO(xlsx_bytes({"a/b:c": rows, "empty": []})))
    assert book.sheetnames == ["a-b-c", "empty"]
    sheet = book["a-b-c"]
    header = [c.value for c in sheet[1]]
    assert header == ["text", "int", "float", "bool", "none", "list", "dict"]
    first = {h: (c.value, c.data_type) for h, c in zip(header, sheet[2], strict=True)}
    assert first["text"] == ("=1+1", "s")
    assert first["int"] == (-3, "n")
    assert first["float"] == (2.5, "n")
    assert first["bool"] == (True, "b")
    second = {h: c.value for h, c in zip(header, sheet[3], strict=True)}
    # XML cannot hold \x01: it becomes the replacement character, not an error.
    assert second["text"] == "a\ufffdb"
    assert second["list"] == '["=x", 1]'
    assert second["dict"] == '{"k": "@v"}'
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    assert book["empty"].max_row == 1
    assert book["empty"]["A1"].value is None


def _first_row(data: bytes) -> list[object]:
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    return [cell.value for cell in sheet[2]]


def test_xlsx_text_that_looks_like_an_escape_is_written_escaped() -> None:
    # Excel reads `_xHHHH_` in a cell as an escaped character (`_x0041_` shows
    # "A"); written as `_x005F_x0041_` it shows what was typed. openpyxl does
    # not decode either, so the sheet's XML is what is checked.
    texts = ["_x0041_", "plain_x", "_x12_", "_x0041_x0042_"]
    data = xlsx_bytes({"t": [{str(n): t for n, t in enumerate(texts)}]})
    with zipfile.ZipFile(io.BytesIO(data)) as pack:
        sheet = pack.read("xl/worksheets/sheet1.xml").decode()
    cells = re.findall(r"<t xml:space=\"preserve\">([^<]*)</t>", sheet)
    assert cells[-4:] == [
        "_x005F_x0041_",
        "plain_x",
        "_x12_",
        "_x005F_x0041_x005F_x0042_",
    ]


def test_xlsx_cell_longer_than_excel_allows_is_cut_and_says_so() -> None:
    data = xlsx_bytes({"t": [{"long": "y" * 40_000, "short": "y" * 32_767}]})
    long, short = _first_row(data)
    assert isinstance(long, str)
    assert len(long) == 32_767
    assert long.endswith("(cut: a spreadsheet cell holds 32,767 characters)")
    assert short == "y" * 32_767


def test_xlsx_cell_length_counts_as_excel_does_an_emoji_twice() -> None:
    emoji = "\U0001f600"  # outside the BMP: two UTF-16 units
    data = xlsx_bytes({"t": [{"fits": emoji * 16_383, "over": emoji * 16_384}]})
    fits, over = _first_row(data)
    assert fits == emoji * 16_383
    assert isinstance(over, str)
    assert over.endswith("(cut: a spreadsheet cell holds 32,767 characters)")
    assert len(over.encode("utf-16-le")) // 2 <= 32_767
