"""Reading a directory file: encodings, separators, XLSX, headers, line numbers,
and the files SMP refuses whole with one sentence."""

from __future__ import annotations

import datetime as dt
import zipfile
from io import BytesIO

import pytest
from tests.support.directory_files import csv_text, encoded, xlsx_file

from smp.services.people_file import MAX_FILE_BYTES, read_directory_file
from smp.services.refusals import Refused

ROWS = [
    ["email", "first_name", "last_name", "department"],
    ["zoe@acme.test", "Zoë", "Ünal", "R&D; Europe"],
    ["kenji@acme.test", "健二", "山田", "Sales, APAC"],
]


@pytest.mark.parametrize(
    "encoding",
    ["utf-8", "utf-8-bom", "utf-16-le-bom", "utf-16-be-bom", "utf-16-le", "utf-16-be"],
)
@pytest.mark.parametrize("separator", [",", ";", "\t"])
def test_each_encoding_and_separator_reads_the_same_rows(
    encoding: str, separator: str
) -> None:
    data = encoded(csv_text(ROWS, separator=separator), encoding)
    read = read_directory_file(data, "hr.csv")
    assert read.columns == ("email", "first_name", "last_name", "department")
    assert [(row.line, row.cells) for row in read.rows] == [
        (
            2,
            {
                "email": "zoe@acme.test",
                "first_name": "Zoë",
                "last_name": "Ünal",
                "department": "R&D; Europe",
            },
        ),
        (
            3,
            {
                "email": "kenji@acme.test",
                "first_name": "健二",
                "last_name": "山田",
                "department": "Sales, APAC",
            },
        ),
    ]


def test_a_row_after_a_cell_spanning_lines_has_the_line_it_starts_on() -> None:
    text = (
        "email,department\n"
        'a@acme.test,"Research\nand\nDevelopment"\n'
        "\n"  # a blank line counts as a line of the file
        "b@acme.test,Sales\r\n"
        'c@acme.test,"Two\r\nlines"\r\n'
        "d@acme.test,Support\n"
    )
    read = read_directory_file(text.encode(), "hr.csv")
    assert [(row.line, row.cells["email"]) for row in read.rows] == [
        (2, "a@acme.test"),
        (6, "b@acme.test"),
        (7, "c@acme.test"),
        (9, "d@acme.test"),
    ]
    assert read.rows[0].cells["department"] == "Research\nand\nDevelopment"


def test_headers_match_whatever_their_case_spacing_and_separators() -> None:
    text = " E-Mail ;FIRST NAME;last-name;Employee_ID;Manager Email;Start Date;"
    text += "Cost Centre\n"
    text += "a@acme.test;Ada;Lovelace;E-1;boss@acme.test;2020-01-02;4711\n"
    read = read_directory_file(text.encode(), "hr.csv")
    assert read.columns == (
        "email",
        "first_name",
        "last_name",
        "employee_id",
        "manager_email",
        "start_date",
    )
    assert read.ignored == ("Cost Centre",)
    assert read.rows[0].cells == {
        "email": "a@acme.test",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "employee_id": "E-1",
        "manager_email": "boss@acme.test",
        "start_date": "2020-01-02",
    }


def test_cells_are_trimmed_and_empty_rows_skipped() -> None:
    text = "email,first_name\n  a@acme.test  , Ada \n,\n\nb@acme.test,\n"
    read = read_directory_file(text.encode(), "people.txt")
    assert [(row.line, row.cells) for row in read.rows] == [
        (2, {"email": "a@acme.test", "first_name": "Ada"}),
        (5, {"email": "b@acme.test"}),
    ]


def test_an_xlsx_sheet_gives_dates_numbers_and_its_row_numbers() -> None:
    data = xlsx_file(
        [
            ["Email", "Employee ID", "Start Date", "End Date", "Status"],
            [
                "a@acme.test",
                1001,
                dt.datetime(2021, 3, 4),
                dt.date(2024, 5, 6),
                "Active",
            ],
            None,  # an empty row: the next is row 4 of the sheet
            ["b@acme.test", 1002.0, "2022-07-08", None, None],
        ]
    )
    read = read_directory_file(data, "Directory.XLSX")
    assert [(row.line, row.cells) for row in read.rows] == [
        (
            2,
            {
                "email": "a@acme.test",
                "employee_id": "1001",
                "start_date": dt.date(2021, 3, 4),
                "end_date": dt.date(2024, 5, 6),
                "status": "Active",
            },
        ),
        (
            4,
            {"email": "b@acme.test", "employee_id": "1002", "start_date": "2022-07-08"},
        ),
    ]


def test_an_xlsx_header_below_empty_rows_is_found_on_its_own_row() -> None:
    data = xlsx_file([["email"], ["a@acme.test"]], leading=[None, None])
    read = read_directory_file(data, "hr.xlsx")
    assert [(row.line, row.cells) for row in read.rows] == [
        (4, {"email": "a@acme.test"})
    ]


def _refusal(data: bytes, filename: str = "hr.csv") -> str:
    with pytest.raises(Refused) as raised:
        read_directory_file(data, filename)
    message = str(raised.value)
    assert "\n" not in message
    assert raised.value.field == "file"
    return message


def _corrupt_xlsx() -> bytes:
    out = BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<not-a-workbook/>")
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "filename", "words"),
    [
        pytest.param(b"", "hr.csv", "the file is empty", id="empty"),
        pytest.param(b" \r\n\r\n", "hr.csv", "the file is empty", id="blank"),
        pytest.param(b"email,first_name\r\n", "hr.csv", "no people", id="header-only"),
        pytest.param(
            b"mail address,name\na@acme.test,A\n",
            "hr.csv",
            "no email column",
            id="no-email-column",
        ),
        pytest.param(
            b"email,Email\na@acme.test,b@acme.test\n",
            "hr.csv",
            "the column email appears twice in the header (columns 1 and 2)",
            id="email-twice",
        ),
        pytest.param(b"%PDF-1.7 ...", "hr.pdf", "a .pdf file", id="pdf"),
        pytest.param(
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500),
            "hr.xls",
            "(.xls)",
            id="old-excel",
        ),
        pytest.param(
            "email,first_name\nzoe@acme.test,Zoë\n".encode("cp1252"),
            "hr.csv",
            "line 2 of the file is neither UTF-8 nor UTF-16",
            id="windows-1252",
        ),
        pytest.param(
            b"email\na@acme.test\n",
            "hr.xlsx",
            "XLSX file is damaged",
            id="text-named-xlsx",
        ),
        pytest.param(
            b"PK\x03\x04garbage", "hr.xlsx", "XLSX file is damaged", id="broken-zip"
        ),
        pytest.param(
            b"PK\x03\x04" + bytes(100),
            "hr.docx",
            "a .docx file is not a directory SMP can read: use CSV or XLSX",
            id="word-document",
        ),
        pytest.param(
            _corrupt_xlsx(),
            "hr.xlsx",
            "XLSX file is damaged",
            id="zip-without-workbook",
        ),
    ],
)
def test_a_file_smp_cannot_read_is_refused_in_one_sentence(
    data: bytes, filename: str, words: str
) -> None:
    assert words in _refusal(data, filename)


def test_the_encoding_refusal_says_how_to_save_the_file() -> None:
    message = _refusal("email\nzoë@acme.test\n".encode("latin-1"))
    assert "CSV UTF-8" in message


def test_a_file_over_the_limit_is_refused_naming_the_limit() -> None:
    assert MAX_FILE_BYTES == 25 * 1024 * 1024
    message = _refusal(b"email\n" + b"x" * MAX_FILE_BYTES)
    assert message == "the file is larger than the 25 MB a directory file may be"


def test_a_workbook_that_unpacks_to_too_much_is_refused() -> None:
    out = BytesIO()
    megabyte = b" " * (1024 * 1024)
    with (
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("xl/worksheets/sheet1.xml", "w") as sheet,
    ):
        for _ in range(201):  # a megabyte at a time: little memory
            sheet.write(megabyte)
    message = _refusal(out.getvalue(), "bomb.xlsx")
    assert message == "the workbook unpacks to 201 MB, more than the 200 MB SMP reads"


def test_excels_separator_line_names_the_separator_and_counts_as_a_line() -> None:
    text = 'sep=;\r\nemail;department\r\na@acme.test;"R&D, Europe"\r\n'
    read = read_directory_file(text.encode("utf-8-sig"), "hr.csv")
    assert [(row.line, row.cells) for row in read.rows] == [
        (3, {"email": "a@acme.test", "department": "R&D, Europe"})
    ]
