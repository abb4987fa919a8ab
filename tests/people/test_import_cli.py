"""`smp people import`: its JSON, its words on a terminal, and its exit codes
(0 imported, 2 rows in error without --partial or a file it cannot read, 1
saved but not classified)."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest
from tests.support.directory_files import HEADER, csv_text, person, sparse_file
from typer.testing import CliRunner, Result

from smp.cli.main import app


def smp(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def write(path: Path, rows: list[list[object]]) -> Path:
    path.write_text(csv_text([HEADER, *rows]), encoding="utf-8")
    return path


def test_json_report_and_the_source_from_the_file_name(
    home: Path, tmp_path: Path
) -> None:
    file = write(
        tmp_path / "Staff List.csv", [person("a@acme.test"), person("b@acme.test")]
    )
    result = smp("people", "import", file, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "source": "Staff List",
        "imported": 2,
        "updated": 0,
        "unchanged": 0,
        "gone": 0,
        "errors": [],
    }
    again = smp("people", "import", file, "--source", "Staff List")
    assert again.exit_code == 0, again.output
    assert (
        again.stdout == "Imported Staff List: 0 new, 0 updated, 2 unchanged, 0 gone\n"
    )


def test_rows_in_error_import_nothing_and_exit_2_unless_partial(
    home: Path, tmp_path: Path
) -> None:
    rows = [person("a@acme.test"), person("b@acme.test", type="robot")]
    file = write(tmp_path / "hr.csv", rows)
    refused = smp("people", "import", file, "--json")
    assert refused.exit_code == 2
    error = {
        "row": 3,
        "column": "type",
        "reason": "'robot' is not a type: "
        "use one of employee, contractor, partner, service",
    }
    assert json.loads(refused.stdout) == {
        "source": "hr",
        "imported": 0,
        "updated": 0,
        "unchanged": 0,
        "gone": 0,
        "errors": [error],
    }
    # Nothing was imported: the valid row is new to the partial import.
    partial = smp("people", "import", file, "--partial", "--json")
    assert partial.exit_code == 0, partial.output
    assert json.loads(partial.stdout) == {
        "source": "hr",
        "imported": 1,
        "updated": 0,
        "unchanged": 0,
        "gone": 0,
        "errors": [error],
    }


def test_a_long_error_list_is_cut_on_a_terminal_and_whole_in_json(
    home: Path, tmp_path: Path
) -> None:
    rows = [person(f"p{n}@acme.test", status="fired") for n in range(23)]
    file = write(tmp_path / "hr.csv", rows)
    shown = smp("people", "import", file)
    assert shown.exit_code == 2
    lines = shown.stdout.splitlines()
    assert lines[0] == (
        "Nothing imported: 23 rows in error. Fix the file, or import the valid "
        "rows with --partial:"
    )
    assert lines[1] == (
        "  row 2, status: 'fired' is not a status: use one of active, terminated, leave"
    )
    assert len(lines) == 1 + 20 + 1
    assert lines[-1] == "  … and 3 more (all of them with --json)"
    assert (
        len(json.loads(smp("people", "import", file, "--json").stdout)["errors"]) == 23
    )


def test_unknown_columns_are_named_in_a_warning(home: Path, tmp_path: Path) -> None:
    file = tmp_path / "hr.csv"
    file.write_text("email,Cost Centre,Desk\na@acme.test,4711,B-12\n", encoding="utf-8")
    result = smp("people", "import", file)
    assert result.exit_code == 0, result.output
    assert (
        result.stderr
        == "warning: ignored the columns SMP does not know: Cost Centre, Desk\n"
    )


def test_a_huge_file_is_refused_by_its_size_without_being_read(
    home: Path, tmp_path: Path
) -> None:
    file = sparse_file(tmp_path / "huge.csv", 50 * 1024 * 1024)
    tracemalloc.start()
    try:
        result = smp("people", "import", file)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.exit_code == 2
    assert result.stderr == (
        "error: the file is 50.0 MB: a directory file may be at most 25 MB\n"
    )
    assert peak < 5 * 1024 * 1024  # far below the file's 50 MB


def test_files_it_cannot_read_are_one_line_and_exit_2(
    home: Path, tmp_path: Path
) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes("email,first_name\nzoe@acme.test,Zoë\n".encode("cp1252"))
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    for args, words in [
        ((tmp_path / "missing.csv",), "error: no such file: "),
        ((tmp_path,), "is not a file"),
        ((latin,), "error: line 2 of the file is neither UTF-8 nor UTF-16"),
        ((broken,), "error: the XLSX file is damaged or not a workbook"),
        ((latin, "--source", "scim"), "error: the source 'scim' is the identity"),
    ]:
        result = smp("people", "import", *args)
        assert result.exit_code == 2, args
        assert words in result.stderr
        assert len(result.stderr.splitlines()) == 1, result.stderr
        assert result.stdout == ""


def test_a_classification_failure_after_the_import_exits_1_saying_what_was_saved(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smp.services import people_import
    from smp.storage import StorageError

    def failing(*args: object, **kwargs: object) -> None:
        raise StorageError("database is locked")

    monkeypatch.setattr(people_import, "directory_changed", failing)
    file = write(tmp_path / "hr.csv", [person("a@acme.test")])
    result = smp("people", "import", file)
    assert result.exit_code == 1
    said = " ".join(result.stderr.split())  # the console may wrap the line
    assert said.startswith("error: The directory hr was imported (1 new, 0 updated")
    assert "the next sync or import classifies them again" in said
    assert result.stdout == ""
