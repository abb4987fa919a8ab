"""The audit trail's use cases: who did it, listing, verifying, exporting.

Every delivery layer names the doer the same way (`Actor`): the web and the
API the signed-in user and the client address, the CLI `cli:<OS user>` (or
the SMP user a command acts as) from "cli", the scheduler and the worker
SMP itself (actor None). Each audited use case records its entry through
`record`, in the same transaction as the change it describes.
"""

from __future__ import annotations

import csv
import datetime as dt
import getpass
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from smp.model.audit import AuditEntry, ChainReport
from smp.services.refusals import Refused
from smp.spreadsheets import neutralised, write_xlsx
from smp.storage import audit as audit_store
from smp.storage.engine import read_session

COLUMNS = ("id", "occurred_at", "actor", "source", "action", "target", "details")
EXPORT_SUFFIXES = (".csv", ".xlsx")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts (None: SMP itself) and from where (an address, cli, scheduler…)."""

    name: str | None
    source: str


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return str(os.getuid())


def cli_actor(user: str | None = None) -> Actor:
    """The CLI: the SMP user a command acts as, else `cli:<OS user>`."""
    return Actor(user or f"cli:{os_user()}", "cli")


def client_actor(user: str | None, host: str | None) -> Actor:
    """The web or the API: the signed-in user from the client's address."""
    return Actor(user, host or "unknown")


class _Client(Protocol):
    @property
    def host(self) -> str: ...


class _Request(Protocol):
    @property
    def client(self) -> _Client | None: ...


def request_actor(user: str | None, request: _Request) -> Actor:
    """`client_actor` for a web or API request (its `request.client.host`)."""
    client = request.client
    return client_actor(user, None if client is None else client.host)


def named(user: str | None, audit_as: Actor | None) -> Actor:
    """`audit_as`, else the user a use case was told of (from an unknown address)."""
    return audit_as or (cli_actor() if user is None else Actor(user, "unknown"))


SCHEDULER = Actor(None, "scheduler")
WORKER = Actor(None, "worker")


def record(
    session: Session,
    by: Actor | None,
    action: str,
    target: str,
    details: Mapping[str, object] | None = None,
    *,
    now: dt.datetime | None = None,
) -> None:
    """One entry in `session`'s transaction; `by` None means the CLI's OS user.

    `now` is the caller's clock, so an entry agrees with the times the action
    itself wrote (an export's `generated_at`); None means the wall clock.
    """
    who = by or cli_actor()
    audit_store.append(
        session,
        actor=who.name,
        source=who.source,
        action=action,
        target=target,
        details=details or {},
        now=now,
    )


# At most one `login.failed` per target and address in this time: the sign-in
# throttle (smp.storage.logins) still counts every try.
FAILED_LOGIN_EVERY = dt.timedelta(minutes=1)
UNKNOWN_USER = "(unknown user)"
API_TOKEN = "api token"


def record_failed_login(engine: Engine, address: str, target: str, why: str) -> None:
    """A refused sign-in or API token, in its own transaction: nobody is signed
    in, so no actor. `target` is an existing user's name, UNKNOWN_USER or
    API_TOKEN, never what was typed: a password typed as the name must not
    land in a trail every admin reads."""
    with Session(engine) as session, session.begin():
        audit_store.append_unless_recent(
            session,
            within=FAILED_LOGIN_EVERY,
            actor=None,
            source=address,
            action="login.failed",
            target=target,
            details={"reason": why},
        )


def entry_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "occurred_at": entry.occurred_at.isoformat(),
        "actor": entry.actor,
        "source": entry.source,
        "action": entry.action,
        "target": entry.target,
        "details": dict(entry.details),
    }


def utc_start(since: dt.datetime | None) -> dt.datetime | None:
    """`since` in UTC; a time beyond the calendar's ends in UTC becomes that end
    (0001-01-01T00:00+14:00 is before any entry, not an error)."""
    if since is None:
        return None
    try:
        return since.astimezone(dt.UTC)
    except OverflowError:
        end = dt.datetime.min if since.year == 1 else dt.datetime.max
        return end.replace(tzinfo=dt.UTC)


def list_entries(
    engine: Engine,
    *,
    since: dt.datetime | None = None,
    action: str | None = None,
    limit: int | None = 100,
    offset: int = 0,
) -> tuple[list[AuditEntry], int]:
    """Entries newest first, and how many match in all."""
    with read_session(engine) as session:
        return audit_store.page_entries(
            session, since=utc_start(since), action=action, limit=limit, offset=offset
        )


def verify(engine: Engine) -> ChainReport:
    return audit_store.verify(engine)


def verdict(report: ChainReport) -> str:
    """The one line `smp audit verify`, the API and the page all say."""
    if report.broken is None:
        return f"{report.entries} entries, chain intact"
    return (
        f"the chain breaks at entry {report.broken.row_id}: {report.broken.reason} "
        f"({report.entries} entries before it verify)"
    )


def _cells(entry: AuditEntry) -> list[object]:
    item = entry_json(entry)
    item["details"] = json.dumps(item["details"], sort_keys=True)
    return [item[name] for name in COLUMNS]


def export(
    engine: Engine,
    out: Path,
    *,
    since: dt.datetime | None = None,
    action: str | None = None,
) -> int:
    """Write the matching entries, oldest first, to `out` (.csv or .xlsx); how many."""
    suffix = out.suffix.lower()
    if suffix not in EXPORT_SUFFIXES:
        raise Refused("the export file must end in .csv or .xlsx", field="out")
    count = 0

    def rows() -> Iterator[list[object]]:
        nonlocal count
        start = utc_start(since)
        for entry in audit_store.iter_entries(engine, since=start, action=action):
            count += 1
            yield _cells(entry)

    try:
        if suffix == ".xlsx":
            write_xlsx(out, [("audit", COLUMNS, rows())])
        else:
            with out.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(COLUMNS)
                for cells in rows():
                    writer.writerow(
                        [neutralised(c) if isinstance(c, str) else c for c in cells]
                    )
    except OSError as error:
        raise Refused(f"cannot write {out}: {error.strerror or error}") from None
    return count


def export_bytes(engine: Engine, suffix: str) -> bytes:
    """The whole trail as a .csv or .xlsx file's content (the web's download)."""
    with tempfile.TemporaryDirectory(prefix="smp-audit-") as folder:
        out = Path(folder) / f"audit{suffix}"
        export(engine, out)
        return out.read_bytes()
