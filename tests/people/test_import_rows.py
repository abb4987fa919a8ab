"""Every row of a directory file is checked: each error names the file's line,
the column and the reason, and a file with errors imports nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from tests.support.directory_files import (
    HEADER,
    csv_text,
    person,
    stored_people,
    unique_source,
)

from smp.services.people_import import import_people
from smp.storage import StorageError, make_engine, migrate

NOW = dt.datetime.now(dt.UTC)
# The header is line 1: the first person is on line 2.
GOOD = person("good@acme.test", first_name="Good")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """Checking rows needs no second database: nothing here is written."""
    path: Path = tmp_path_factory.mktemp("db") / "smp.db"
    opened = make_engine(f"sqlite:///{path}")
    migrate(opened)
    yield opened
    opened.dispose()


def errors_of(engine: Engine, *rows: list[object]) -> list[tuple[int, str, str]]:
    """(row, column, reason) of each error; also checks nothing was imported."""
    source = unique_source()
    data = csv_text([HEADER, GOOD, *rows]).encode()
    report = import_people(engine, data, filename="hr.csv", source=source, now=NOW)
    assert not report.applied
    assert report.as_json()["imported"] == 0
    assert stored_people(engine, source) == {}
    return [(e.row, e.column, e.reason) for e in report.errors]


def test_an_address_that_is_not_an_e_mail(engine: Engine) -> None:
    assert errors_of(engine, person("ada.acme.test"), person("a b@acme.test")) == [
        (3, "email", "'ada.acme.test' is not an e-mail address"),
        (4, "email", "'a b@acme.test' is not an e-mail address"),
    ]


def test_a_row_without_an_e_mail(engine: Engine) -> None:
    assert errors_of(engine, person("", first_name="Nobody")) == [
        (3, "email", "is empty: every person needs an e-mail address"),
    ]


def test_an_unknown_status_names_the_allowed_ones(engine: Engine) -> None:
    # `gone` is SMP's own verdict on a person missing from a file.
    rows = [person("a@acme.test", status="fired"), person("b@acme.test", status="gone")]
    assert errors_of(engine, *rows) == [
        (3, "status", "'fired' is not a status: use one of active, terminated, leave"),
        (4, "status", "'gone' is not a status: use one of active, terminated, leave"),
    ]


def test_an_unknown_type_names_the_allowed_ones(engine: Engine) -> None:
    assert errors_of(engine, person("a@acme.test", type="intern")) == [
        (
            3,
            "type",
            "'intern' is not a type: use one of employee, contractor, partner, service",
        ),
    ]


@pytest.mark.parametrize("date", ["03/12/2024", "2024-02-30", "2024-3-1", "20240301"])
def test_a_date_not_written_as_iso(engine: Engine, date: str) -> None:
    assert errors_of(engine, person("a@acme.test", start_date=date)) == [
        (3, "start_date", f"'{date}' is not a date: write it as YYYY-MM-DD"),
    ]


def test_an_end_before_the_start(engine: Engine) -> None:
    row = person("a@acme.test", start_date="2024-03-01", end_date="2024-02-29")
    assert errors_of(engine, row) == [
        (3, "end_date", "ends 2024-02-29, before it starts (2024-03-01)"),
    ]


def test_one_e_mail_on_two_rows_is_an_error_on_both(engine: Engine) -> None:
    # Compared after NFKC and casefolding: full-width letters, another case.
    rows = [
        person("Ann@Acme.test"),
        person("other@acme.test"),
        person("ａｎｎ@ACME.TEST"),
    ]
    assert errors_of(engine, *rows) == [
        (3, "email", "ann@acme.test is also the e-mail of row 5"),
        (5, "email", "ann@acme.test is also the e-mail of row 3"),
    ]


def test_an_alias_that_is_another_rows_e_mail_is_an_error_on_both(
    engine: Engine,
) -> None:
    rows = [
        person("ann@acme.test", aliases="a.smith@acme.test; bob@acme.test"),
        person("BOB@acme.test"),
        person("carl@acme.test", aliases="a.smith@acme.test"),
    ]
    assert errors_of(engine, *rows) == [
        (3, "aliases", "a.smith@acme.test is also an alias of row 5"),
        (3, "aliases", "bob@acme.test is also the e-mail of row 4"),
        (4, "email", "bob@acme.test is also an alias of row 3"),
        (5, "aliases", "a.smith@acme.test is also an alias of row 3"),
    ]


def test_an_alias_equal_to_the_persons_own_e_mail(engine: Engine) -> None:
    row = person("ann@acme.test", aliases="ANN@acme.test;ann.other@acme.test")
    assert errors_of(engine, row) == [
        (3, "aliases", "'ANN@acme.test' is the person's own e-mail"),
    ]


def test_aliases_and_the_manager_must_be_e_mails(engine: Engine) -> None:
    row = person("a@acme.test", manager_email="the boss", aliases="x@acme.test;;nope")
    assert errors_of(engine, row) == [
        (3, "manager_email", "'the boss' is not an e-mail address"),
        (3, "aliases", "'nope' is not an e-mail address"),
    ]


def test_values_longer_than_their_column(engine: Engine) -> None:
    rows = [
        person("a@acme.test", first_name="F" * 201, employee_id="1" * 101),
        person("b" * 311 + "@acme.test"),
        person("c@acme.test", aliases="d" * 320 + "@acme.test"),
        person("e" * 310 + "@acme.test", last_name="L" * 200),  # at the limits
        person("\ufb03" * 110 + "@acme.test"),  # 120 characters, NFKC: 340
    ]
    assert errors_of(engine, *rows) == [
        (3, "employee_id", "is 101 characters long (at most 100)"),
        (3, "first_name", "is 201 characters long (at most 200)"),
        (4, "email", "is 321 characters long (at most 320)"),
        (5, "aliases", "is 330 characters long (at most 320)"),
        (7, "email", "is 340 characters long once normalised (at most 320)"),
    ]


def test_control_characters(engine: Engine) -> None:
    rows = [
        person("a@acme.test", department="Sales\x07"),
        person("b@acme.test", last_name="Smith\x00"),
        person("c@acme.test", first_name="Two\nlines"),
    ]
    assert errors_of(engine, *rows) == [
        (3, "department", "has a control character (U+0007), as from a bad paste"),
        (4, "last_name", "has a control character (U+0000), as from a bad paste"),
        (5, "first_name", "has a control character (U+000A), as from a bad paste"),
    ]


def test_a_row_with_several_problems_has_one_error_each_in_column_order(
    engine: Engine,
) -> None:
    row = person("nope", status="x", type="y", end_date="soon")
    assert errors_of(engine, row) == [
        (3, "email", "'nope' is not an e-mail address"),
        (3, "status", "'x' is not a status: use one of active, terminated, leave"),
        (
            3,
            "type",
            "'y' is not a type: use one of employee, contractor, partner, service",
        ),
        (3, "end_date", "'soon' is not a date: write it as YYYY-MM-DD"),
    ]


def test_a_database_it_cannot_use_is_a_storage_error_not_a_traceback(
    tmp_path: Path,
) -> None:
    unmigrated = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    data = csv_text([HEADER, GOOD]).encode()
    try:
        with pytest.raises(StorageError, match=r"^cannot use the database .*people"):
            import_people(unmigrated, data, filename="hr.csv", now=NOW)
    finally:
        unmigrated.dispose()
