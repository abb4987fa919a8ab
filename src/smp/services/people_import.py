"""Importing a directory file: every row checked, then all of it written or none.

The CLI (`smp people import`) and the web upload share `import_people`. A file
SMP cannot read is refused whole (`Refused`, one sentence). A readable file's
rows are each checked; an error names the row (the file's line, the header
being line 1), the column and the reason. A file with errors imports nothing,
unless `partial` asks for its valid rows: then the rows in error whose e-mail
can be read are not taken for people who left (they are not marked `gone`).

A full import of a source is the whole directory of that source: its people
missing from the file turn `gone` (kept for history). Accounts are then
classified again at once, so a leaver shows without a new sync; if that
fails, the people stay saved and `ClassificationFailed` says so.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from smp.model.people import IMPORTABLE_STATUSES, PersonStatus, PersonType, email_key
from smp.services.audit import Actor, record
from smp.services.directory_effects import directory_changed
from smp.services.people_file import (
    COLUMNS,
    MAX_FILE_BYTES,
    MAX_FILE_WORDS,
    Cell,
    FileRow,
    file_stem,
    read_directory_file,
    too_large,
)
from smp.services.refusals import Refused
from smp.storage import StorageError
from smp.storage.engine import storage_error
from smp.storage.people import (
    SOURCE_LIMIT,
    TEXT_LIMITS,
    PersonValues,
    save_imported_people,
)
from smp.storage.scim_people import SCIM_SOURCE  # no file may mark them gone

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_FILE_WORDS",
    "SCIM_SOURCE",
    "ClassificationFailed",
    "ImportReport",
    "RowError",
    "import_people",
    "too_large",
]


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Deliberately loose: one '@', no spaces, a dot in the domain. SendGrid's own
# addresses are the judge; this only catches a wrong column or a typo.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_STATUSES = {status.value: status for status in IMPORTABLE_STATUSES}
_TYPES = {kind.value: kind for kind in PersonType}
_TEXT_COLUMNS = ("employee_id", "first_name", "last_name", "department")
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class RowError:
    row: int  # the file's line (header: 1) or the sheet's row number
    column: str
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class ImportReport:
    source: str
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    gone: int = 0
    errors: tuple[RowError, ...] = ()
    # Headers SMP does not know (not in the JSON: its shape is fixed).
    ignored_columns: tuple[str, ...] = ()
    # False when errors stopped the import (no `partial`): nothing was written.
    applied: bool = True

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "gone": self.gone,
            "errors": [error.as_json() for error in self.errors],
        }


def import_people(
    engine: Engine,
    data: bytes,
    *,
    filename: str,
    source: str | None = None,
    partial: bool = False,
    now: dt.datetime,
    audit_as: Actor | None = None,
) -> ImportReport:
    """Import the directory file `data` (named `filename`) as `source`.

    `source` defaults to the file's name without extension. Raises Refused
    for a file that cannot be read at all or a bad source name.
    """
    name = checked_source(file_stem(filename) if source is None else source)
    directory = read_directory_file(data, filename)
    checked = [_check_row(row) for row in directory.rows]
    found = [error for row in checked for error in row.errors]
    found += _doubled_emails(checked)
    errors = tuple(sorted(found, key=lambda e: (e.row, _COLUMN_ORDER[e.column])))
    ignored = directory.ignored
    if errors and not partial:
        return ImportReport(name, errors=errors, ignored_columns=ignored, applied=False)
    in_error = {error.row for error in errors}
    valid = [row.person for row in checked if row.person and row.line not in in_error]
    # A row in error may still be a person of the directory: never call them gone.
    keep = {row.key for row in checked if row.line in in_error and row.key}
    # Freed before reclassifying, which holds every account: lower peak memory.
    del directory, checked
    try:
        with Session(engine) as session, session.begin():
            counts = save_imported_people(session, name, valid, keep=keep, now=now)
            details = {
                "file": filename[-200:],
                "imported": counts.imported,
                "updated": counts.updated,
                "gone": counts.gone,
                "rows_in_error": len(errors),
            }
            record(session, audit_as, "people.import", name, details)
    except DBAPIError as error:  # the database, not the file: StorageError
        raise storage_error(error, engine) from None
    del valid
    report = ImportReport(
        name,
        counts.imported,
        counts.updated,
        counts.unchanged,
        counts.gone,
        errors,
        ignored,
    )
    # Always, even when nothing changed: a retry of a file whose import was
    # saved but not classified (the failure below) heals the classifications.
    _reclassify(engine, report, now=now)
    return report


class ClassificationFailed(StorageError):
    """The people were saved, then classifying the accounts failed."""


def _reclassify(engine: Engine, report: ImportReport, *, now: dt.datetime) -> None:
    try:
        try:
            directory_changed(engine, now=now)
        except DBAPIError as error:
            raise storage_error(error, engine) from None
    except StorageError as error:
        raise ClassificationFailed(
            f"The directory {report.source} was imported ({report.imported:,} new, "
            f"{report.updated:,} updated, {report.gone:,} gone) but classifying "
            f"the accounts failed ({error}); the next sync or import classifies "
            "them again"
        ) from None


def checked_source(source: str) -> str:
    """The source name trimmed; Refused when it cannot name a file's people."""
    name = source.strip()
    if not name:
        raise Refused("the source name is empty", field="source")
    if _CONTROL.search(name):
        raise Refused("the source name has a control character", field="source")
    if len(name) > SOURCE_LIMIT:
        raise Refused(
            f"the source name is {len(name):,} characters long "
            f"(at most {SOURCE_LIMIT})",
            field="source",
        )
    if name.casefold() == SCIM_SOURCE:
        raise Refused(
            f"the source '{SCIM_SOURCE}' is the identity provider's (SCIM); "
            "give the file's people another source name",
            field="source",
        )
    return name


_COLUMN_ORDER = {name: index for index, name in enumerate(COLUMNS)}


@dataclass(slots=True)
class _Checked:
    line: int
    person: PersonValues | None = None
    key: str | None = None  # the e-mail's, when it can be read
    alias_keys: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def _check_row(row: FileRow) -> _Checked:
    checked = _Checked(row.line)
    cells = row.cells
    problem = _Problems(checked)
    email = problem.email("email", cells.get("email"), required=True)
    if email is not None:
        checked.key = email_key(email)
    texts = {name: problem.text(name, cells.get(name)) for name in _TEXT_COLUMNS}
    manager = problem.email("manager_email", cells.get("manager_email"))
    status = problem.choice(
        "status", cells.get("status"), _STATUSES, PersonStatus.ACTIVE
    )
    kind = problem.choice("type", cells.get("type"), _TYPES, PersonType.EMPLOYEE)
    start = problem.date("start_date", cells.get("start_date"))
    end = problem.date("end_date", cells.get("end_date"))
    if start and end and end < start:
        problem.add("end_date", f"ends {end}, before it starts ({start})")
    aliases = _aliases(problem, cells.get("aliases"), checked)
    if checked.errors or email is None or status is None or kind is None:
        return checked
    checked.person = PersonValues(
        email=email,
        employee_id=texts["employee_id"],
        first_name=texts["first_name"],
        last_name=texts["last_name"],
        department=texts["department"],
        manager_email=manager,
        status=status,
        type=kind,
        start_date=start,
        end_date=end,
        aliases=aliases,
    )
    return checked


def _aliases(problem: _Problems, cell: Cell | None, row: _Checked) -> tuple[str, ...]:
    """The row's aliases, each once; their keys are added to the row's."""
    if cell is None:
        return ()
    own, keys = row.key, row.alias_keys
    found: list[str] = []
    for part in str(cell).split(";"):
        alias = problem.email("aliases", part.strip() or None)
        if alias is None:
            continue
        key = email_key(alias)
        if key == own:
            problem.add("aliases", f"{_shown(alias)} is the person's own e-mail")
        elif key not in keys:
            keys.append(key)
            found.append(alias)
    return tuple(found)


class _Problems:
    """Checks of one row's cells; each problem becomes a RowError of the row."""

    def __init__(self, checked: _Checked) -> None:
        self.checked = checked

    def add(self, column: str, reason: str) -> None:
        self.checked.errors.append(RowError(self.checked.line, column, reason))

    def text(self, column: str, cell: Cell | None) -> str | None:
        """The cell as text, or None when empty or refused (length, control)."""
        if cell is None:
            return None
        text = str(cell)
        found = _CONTROL.search(text)
        if found:
            code = f"U+{ord(found.group()):04X}"
            self.add(column, f"has a control character ({code}), as from a bad paste")
            return None
        limit = TEXT_LIMITS[column if column != "aliases" else "email"]
        if len(text) > limit:
            self.add(column, f"is {len(text):,} characters long (at most {limit})")
            return None
        return text

    def email(
        self, column: str, cell: Cell | None, *, required: bool = False
    ) -> str | None:
        if cell is None:
            if required:
                self.add(column, "is empty: every person needs an e-mail address")
            return None
        text = self.text(column, cell)
        if text is None:
            return None
        if not _EMAIL.fullmatch(text):
            self.add(column, f"{_shown(text)} is not an e-mail address")
            return None
        # NFKC may lengthen it ('ﬃ' is 'ffi'): the stored key must fit too.
        key, limit = email_key(text), TEXT_LIMITS["email_key"]
        if len(key) > limit:
            self.add(
                column,
                f"is {len(key):,} characters long once normalised (at most {limit})",
            )
            return None
        return text

    def choice(
        self, column: str, cell: Cell | None, allowed: dict[str, _T], default: _T
    ) -> _T | None:
        if cell is None:
            return default
        text = str(cell).strip()
        chosen = allowed.get(text.casefold())
        if chosen is None:
            words = ", ".join(allowed)
            self.add(column, f"{_shown(text)} is not a {column}: use one of {words}")
        return chosen

    def date(self, column: str, cell: Cell | None) -> dt.date | None:
        if cell is None or isinstance(cell, dt.date):
            return cell
        text = cell.strip()
        try:
            if not _ISO_DATE.fullmatch(text):
                raise ValueError(text)
            return dt.date.fromisoformat(text)
        except ValueError:
            self.add(column, f"{_shown(text)} is not a date: write it as YYYY-MM-DD")
            return None


def _shown(value: str) -> str:
    """A value quoted in a reason, cut when long."""
    return repr(value if len(value) <= 60 else value[:57] + "...")


def _doubled_emails(rows: Sequence[_Checked]) -> list[RowError]:
    """An e-mail given to two rows (as e-mail or alias): both rows are wrong.

    Which row is the person is not SMP's to guess, so neither is imported.
    """
    first: dict[str, tuple[int, bool]] = {}
    doubled: dict[str, list[tuple[int, bool]]] = {}
    for row in rows:
        for key, primary in _claims(row):
            place = (row.line, primary)
            earlier = first.setdefault(key, place)
            if earlier is not place:
                doubled.setdefault(key, [earlier]).append(place)
    errors = []
    for row in rows:  # each row's errors in the order of its e-mails
        for key, primary in _claims(row):
            places = doubled.get(key)
            if places is None:
                continue
            other, other_primary = next(p for p in places if p[0] != row.line)
            what = "the e-mail" if other_primary else "an alias"
            column = "email" if primary else "aliases"
            errors.append(
                RowError(row.line, column, f"{key} is also {what} of row {other}")
            )
    return errors


def _claims(row: _Checked) -> list[tuple[str, bool]]:
    """The row's e-mail keys, each with whether it is the primary one."""
    claims = [(row.key, True)] if row.key is not None else []
    return claims + [(key, False) for key in row.alias_keys]
