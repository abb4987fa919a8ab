"""Importing a directory on SQLite and PostgreSQL: what is written, what a
re-import changes (nothing, when the file is the same), who turns gone, when
terminated_at is set, and the accounts reclassified at once."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from tests.support.directory_files import (
    HEADER,
    csv_text,
    person,
    stamp,
    stored_people,
    unique_source,
    xlsx_file,
)
from tests.support.people_rows import seed_members

from smp.services.people_import import ImportReport, import_people
from smp.services.refusals import Refused
from smp.storage.tables import AccountClassificationRow, IntegrationRow

# Relative to the real date: nothing here depends on what day it is.
DAY = dt.datetime.now(dt.UTC).date()
T1, T2, T3, T4 = (stamp(DAY + dt.timedelta(days=n)) for n in range(4))


def run(
    engine: Engine,
    rows: list[list[object]],
    source: str,
    now: dt.datetime,
    *,
    partial: bool = False,
) -> dict[str, object]:
    data = csv_text([HEADER, *rows]).encode()
    report = import_people(
        engine, data, filename="directory.csv", source=source, partial=partial, now=now
    )
    return report.as_json()


def counts(
    imported: int = 0, updated: int = 0, unchanged: int = 0, gone: int = 0
) -> dict[str, int]:
    return {
        "imported": imported,
        "updated": updated,
        "unchanged": unchanged,
        "gone": gone,
    }


def counted(report: dict[str, object]) -> dict[str, object]:
    return {name: report[name] for name in ("imported", "updated", "unchanged", "gone")}


ADA = person(
    "Ada@Acme.test",
    employee_id="E-1",
    first_name="Ada",
    last_name="Lovelace",
    department="Engineering",
    manager_email="boss@acme.test",
    status="Active",
    type="contractor",
    start_date="2020-01-31",
    end_date="2026-12-31",
    aliases="ada.l@acme.test;\r\n countess@old.test",  # a new line after a ';'
)
BOB = person("bob@acme.test", status="terminated")
CY = person("cy@acme.test", status="leave", type="partner")


def test_a_first_import_writes_every_value(engine: Engine) -> None:
    source = unique_source()
    report = run(engine, [ADA, BOB, CY], source, T1)
    assert report == {"source": source, **counts(imported=3), "errors": []}
    people = stored_people(engine, source)
    ada = people["Ada@Acme.test"]
    assert (
        ada.email_key,
        ada.employee_id,
        ada.first_name,
        ada.last_name,
        ada.department,
        ada.manager_email,
        ada.status,
        ada.type,
        ada.start_date,
        ada.end_date,
        ada.aliases,
        ada.terminated_at,
        ada.created_at,
        ada.updated_at,
    ) == (
        "ada@acme.test",
        "E-1",
        "Ada",
        "Lovelace",
        "Engineering",
        "boss@acme.test",
        "active",
        "contractor",
        dt.date(2020, 1, 31),
        dt.date(2026, 12, 31),
        ["ada.l@acme.test", "countess@old.test"],
        None,
        T1,
        T1,
    )
    bob, cy = people["bob@acme.test"], people["cy@acme.test"]
    assert (bob.status, bob.type, bob.terminated_at) == ("terminated", "employee", T1)
    assert (cy.status, cy.type, cy.terminated_at) == ("leave", "partner", None)
    assert bob.first_name is None
    assert bob.aliases == []


def test_the_same_file_again_changes_nothing(engine: Engine) -> None:
    source = unique_source()
    run(engine, [ADA, BOB, CY], source, T1)
    before = {
        e: (p.updated_at, p.version) for e, p in stored_people(engine, source).items()
    }
    assert counted(run(engine, [CY, BOB, ADA], source, T2)) == counts(unchanged=3)
    after = {
        e: (p.updated_at, p.version) for e, p in stored_people(engine, source).items()
    }
    assert after == before == dict.fromkeys(before, (T1, 1))


def test_a_changed_row_is_updated_and_the_rest_left_alone(engine: Engine) -> None:
    source = unique_source()
    run(engine, [ADA, BOB, CY], source, T1)
    moved = person("cy@acme.test", status="leave", type="partner", department="Ops")
    assert counted(run(engine, [ADA, BOB, moved], source, T2)) == counts(
        updated=1, unchanged=2
    )
    people = stored_people(engine, source)
    assert (people["cy@acme.test"].department, people["cy@acme.test"].updated_at) == (
        "Ops",
        T2,
    )
    assert people["cy@acme.test"].version == 2
    assert people["Ada@Acme.test"].updated_at == T1


def test_a_full_re_import_marks_the_missing_gone_and_keeps_them(engine: Engine) -> None:
    source, other = unique_source(), unique_source()
    run(engine, [ADA, BOB, CY], source, T1)
    run(engine, [CY], other, T1)  # another source's Cy is not this file's
    assert counted(run(engine, [ADA], source, T2)) == counts(unchanged=1, gone=2)
    people = stored_people(engine, source)
    assert {e: p.status for e, p in people.items()} == {
        "Ada@Acme.test": "active",
        "bob@acme.test": "gone",
        "cy@acme.test": "gone",
    }
    # Bob left when SMP learnt he was terminated; Cy when she went missing.
    assert people["bob@acme.test"].terminated_at == T1
    assert people["cy@acme.test"].terminated_at == T2
    assert stored_people(engine, other)["cy@acme.test"].status == "leave"
    # Already gone: not gone again.
    assert counted(run(engine, [ADA], source, T3)) == counts(unchanged=1)
    assert stored_people(engine, source)["cy@acme.test"].updated_at == T2


def test_terminated_at_is_set_once_and_cleared_on_return(engine: Engine) -> None:
    source = unique_source()
    terminated = person("dee@acme.test", status="terminated")
    run(engine, [ADA, terminated], source, T1)
    moved = person("dee@acme.test", status="terminated", department="Ex")
    run(engine, [ADA, moved], source, T2)  # updated, still terminated
    assert stored_people(engine, source)["dee@acme.test"].terminated_at == T1
    run(engine, [ADA], source, T3)  # now gone: they left at T1 all the same
    dee = stored_people(engine, source)["dee@acme.test"]
    assert (dee.status, dee.terminated_at) == ("gone", T1)
    run(engine, [ADA, person("dee@acme.test")], source, T4)  # back, active
    dee = stored_people(engine, source)["dee@acme.test"]
    assert (dee.status, dee.terminated_at) == ("active", None)


def test_a_file_with_errors_changes_nothing(engine: Engine) -> None:
    source = unique_source()
    run(engine, [ADA, BOB], source, T1)
    broken = person("bob@acme.test", status="retired")
    report = run(engine, [person("new@acme.test"), broken], source, T2)
    assert counted(report) == counts()
    assert report["errors"] == [
        {
            "row": 3,
            "column": "status",
            "reason": "'retired' is not a status: use one of active, terminated, leave",
        }
    ]
    people = stored_people(engine, source)
    assert {e: (p.status, p.updated_at) for e, p in people.items()} == {
        "Ada@Acme.test": ("active", T1),
        "bob@acme.test": ("terminated", T1),
    }


def test_partial_imports_the_valid_rows_and_keeps_readable_rows_in_error(
    engine: Engine,
) -> None:
    source = unique_source()
    run(engine, [ADA, BOB, CY], source, T1)
    rows = [
        person("new@acme.test"),
        person("bob@acme.test", status="retired"),  # in error, e-mail readable
        person("cy at acme", status="leave"),  # in error, e-mail unreadable
    ]
    report = run(engine, rows, source, T2, partial=True)
    assert counted(report) == counts(imported=1, gone=2)
    errors = report["errors"]
    assert isinstance(errors, list)
    assert [(e["row"], e["column"]) for e in errors] == [
        (3, "status"),
        (4, "email"),
    ]
    people = stored_people(engine, source)
    assert {e: p.status for e, p in people.items()} == {
        "Ada@Acme.test": "gone",
        "bob@acme.test": "terminated",  # not taken for someone who left
        "cy@acme.test": "gone",  # nothing says the row was Cy's
        "new@acme.test": "active",
    }


def test_the_source_defaults_to_the_file_name_without_extension(engine: Engine) -> None:
    stem = f"HR export {uuid.uuid4().hex[:6]}"
    data = csv_text([HEADER, CY]).encode()
    report = import_people(engine, data, filename=f"C:\\exports\\{stem}.csv", now=T1)
    assert report.source == stem
    assert list(stored_people(engine, stem)) == ["cy@acme.test"]


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("scim", "the source 'scim' is the identity provider's (SCIM)"),
        (" SCIM ", "the source 'scim' is the identity provider's (SCIM)"),
        ("   ", "the source name is empty"),
        ("x" * 201, "the source name is 201 characters long (at most 200)"),
        ("hr\x1b", "the source name has a control character"),
    ],
)
def test_a_source_that_cannot_name_a_files_people_is_refused(
    engine: Engine, source: str, words: str
) -> None:
    data = csv_text([HEADER, CY]).encode()
    with pytest.raises(Refused) as raised:
        import_people(engine, data, filename="hr.csv", source=source, now=T1)
    assert str(raised.value).startswith(words)
    assert raised.value.field == "source"


def test_an_xlsx_directory_with_date_cells_is_imported(engine: Engine) -> None:
    source = unique_source()
    data = xlsx_file(
        [
            ["Email", "Status", "Start Date", "End Date", "Employee ID"],
            ["eve@acme.test", "terminated", dt.datetime(2019, 4, 1), "2024-06-30", 42],
        ]
    )
    report = import_people(engine, data, filename="hr.xlsx", source=source, now=T1)
    assert report == ImportReport(source, imported=1)
    eve = stored_people(engine, source)["eve@acme.test"]
    assert (eve.start_date, eve.end_date, eve.employee_id, eve.status) == (
        dt.date(2019, 4, 1),
        dt.date(2024, 6, 30),
        "42",
        "terminated",
    )


def _classifications(engine: Engine, integration: str) -> dict[str, str]:
    with Session(engine) as session:
        rows = session.execute(
            select(
                AccountClassificationRow.email, AccountClassificationRow.classification
            )
            .join(
                IntegrationRow,
                IntegrationRow.id == AccountClassificationRow.integration_id,
            )
            .where(IntegrationRow.name == integration)
        )
        return {email: classification for email, classification in rows if email}


def test_accounts_turn_leaver_as_soon_as_a_file_says_so(engine: Engine) -> None:
    domain = f"{uuid.uuid4().hex[:8]}.test"
    ann, ben = f"ann@{domain}", f"ben@{domain}"
    integration = seed_members(engine, T1, [ann, ben])
    source = unique_source()
    run(engine, [person(ann), person(ben, type="contractor")], source, T1)
    assert _classifications(engine, integration) == {ann: "employee", ben: "contractor"}
    run(engine, [person(ann, status="terminated")], source, T2)  # Ben is gone
    assert _classifications(engine, integration) == {ann: "leaver", ben: "leaver"}


def test_a_failed_classification_after_the_import_is_said_and_a_retry_heals(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smp.services import people_import
    from smp.storage import StorageError

    domain = f"{uuid.uuid4().hex[:8]}.test"
    ann = f"ann@{domain}"
    integration = seed_members(engine, T1, [ann])
    source = unique_source()
    run(engine, [person(ann)], source, T1)
    real = people_import.directory_changed

    def failing(engine: Engine, *, now: dt.datetime) -> None:
        raise StorageError("database is locked")

    monkeypatch.setattr(people_import, "directory_changed", failing)
    with pytest.raises(people_import.ClassificationFailed) as failed:
        run(engine, [person(ann, status="terminated")], source, T2)
    said = str(failed.value)
    assert said.startswith(f"The directory {source} was imported (0 new, 1 updated")
    assert "database is locked" in said
    assert "the next sync or import classifies them again" in said
    # Saved, not yet classified.
    assert stored_people(engine, source)[ann].status == "terminated"
    assert _classifications(engine, integration) == {ann: "employee"}
    # The same file again changes no person, yet classifies the accounts.
    monkeypatch.setattr(people_import, "directory_changed", real)
    again = run(engine, [person(ann, status="terminated")], source, T3)
    assert counted(again) == counts(unchanged=1)
    assert _classifications(engine, integration) == {ann: "leaver"}
