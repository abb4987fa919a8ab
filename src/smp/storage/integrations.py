"""Integrations (one SendGrid account each) and their service accounts (keys).

Every function takes a Session whose transaction the caller controls; nothing
here commits. Removing a key is soft: `removed_at` is set and the data it
fetched stays, so readers can show its source as removed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql import ColumnElement

from smp.model import Integration, KeyKind, KeyStatus, ServiceAccount
from smp.storage.errors import DuplicateNameError, RecordNotFoundError, StorageError
from smp.storage.tables import (
    IntegrationRow,
    InvoiceRow,
    MemberRow,
    ServiceAccountRow,
    SubuserRow,
    SyncRunRow,
)

MAX_NAME = 200


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _integration(row: IntegrationRow) -> Integration:
    return Integration(
        id=row.id,
        name=row.name,
        region=row.region,
        base_url=row.base_url,
        created_at=row.created_at,
        sync_interval_s=row.sync_interval_s,
        last_sync_at=row.last_sync_at,
        billing_confirmed_by=row.billing_confirmed_by,
        billing_confirmed_at=row.billing_confirmed_at,
    )


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise StorageError("an integration needs a name")
    if len(cleaned) > MAX_NAME:
        raise StorageError(f"an integration name has at most {MAX_NAME} characters")
    return cleaned


def create_integration(
    session: Session,
    name: str,
    region: str = "global",
    *,
    base_url: str | None = None,
    now: dt.datetime | None = None,
) -> Integration:
    """Create an integration; names are unique, compared without case."""
    cleaned = _clean_name(name)
    _name_taken(session, cleaned)
    row = IntegrationRow(
        name=cleaned,
        name_key=cleaned.casefold(),
        region=region,
        base_url=base_url,
        created_at=now or _now(),
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise DuplicateNameError(
            f"an integration named {cleaned!r} already exists"
        ) from None
    return _integration(row)


def _name_taken(session: Session, cleaned: str, but: int | None = None) -> None:
    query = select(IntegrationRow.id).where(
        IntegrationRow.name_key == cleaned.casefold()
    )
    if but is not None:
        query = query.where(IntegrationRow.id != but)
    if session.scalar(query) is not None:
        raise DuplicateNameError(f"an integration named {cleaned!r} already exists")


def _integration_row(session: Session, name_or_id: str | int) -> IntegrationRow:
    row: IntegrationRow | None = None
    if isinstance(name_or_id, int) or name_or_id.strip().isdigit():
        row = session.get(IntegrationRow, int(name_or_id))
    if row is None and isinstance(name_or_id, str):
        cleaned = " ".join(name_or_id.split()).casefold()
        row = session.scalar(
            select(IntegrationRow).where(IntegrationRow.name_key == cleaned)
        )
    if row is None:
        raise RecordNotFoundError(f"no integration {name_or_id!r}")
    return row


def get_integration(session: Session, name_or_id: str | int) -> Integration:
    """By id (an int or digits) or by name (case-insensitive); RecordNotFoundError."""
    return _integration(_integration_row(session, name_or_id))


def list_integrations(session: Session) -> list[Integration]:
    rows = session.scalars(select(IntegrationRow).order_by(IntegrationRow.name))
    return [_integration(row) for row in rows]


def rename_integration(
    session: Session, integration_id: int, new_name: str
) -> Integration:
    """Give an integration another name (still unique without case)."""
    row = _integration_row(session, integration_id)
    cleaned = _clean_name(new_name)
    _name_taken(session, cleaned, but=row.id)
    row.name, row.name_key = cleaned, cleaned.casefold()
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # renamed so by someone else meanwhile
        raise DuplicateNameError(
            f"an integration named {cleaned!r} already exists"
        ) from None
    return _integration(row)


@dataclass(frozen=True, slots=True)
class Footprint:
    """What deleting an integration deletes, counted for its confirmation."""

    keys: int
    members: int
    subusers: int
    invoices: int
    sync_runs: int

    def describe(self) -> str:
        """E.g. "2 keys, 44 members and invites, 4 subusers, 6 invoices and 3 syncs"."""
        parts = [
            _count(self.keys, "key"),
            _count(self.members, "member and invite", "members and invites"),
            _count(self.subusers, "subuser"),
            _count(self.invoices, "invoice"),
            _count(self.sync_runs, "sync run"),
        ]
        return ", ".join(parts[:-1]) + " and " + parts[-1]


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else many or one + 's'}"


def integration_footprint(session: Session, integration_id: int) -> Footprint:
    """Count the rows an integration's deletion removes (removed keys included)."""
    _integration_row(session, integration_id)

    def count(column: InstrumentedAttribute[int], *where: ColumnElement[bool]) -> int:
        query = select(func.count()).where(column == integration_id, *where)
        return int(session.scalar(query) or 0)

    return Footprint(
        keys=count(ServiceAccountRow.integration_id),
        members=count(MemberRow.integration_id, MemberRow.removed_at.is_(None)),
        subusers=count(SubuserRow.integration_id, SubuserRow.removed_at.is_(None)),
        invoices=count(InvoiceRow.integration_id),
        sync_runs=count(SyncRunRow.integration_id),
    )


def delete_integration(session: Session, integration_id: int) -> None:
    """Delete an integration and, by cascade, everything stored for it, keys too."""
    _integration_row(session, integration_id)
    session.execute(delete(IntegrationRow).where(IntegrationRow.id == integration_id))


def confirm_billing_account(
    session: Session, integration_id: int, by: str, now: dt.datetime | None = None
) -> Integration:
    """Record who vouched that the billing key is this integration's account's."""
    row = _integration_row(session, integration_id)
    row.billing_confirmed_by = by
    row.billing_confirmed_at = now or _now()
    return _integration(row)


def set_sync_interval(
    session: Session, integration_id: int, seconds: int | None
) -> Integration:
    """Set (or clear, with None) how often the scheduler syncs this integration."""
    if seconds is not None and seconds <= 0:
        raise StorageError("the sync interval must be a positive number of seconds")
    row = _integration_row(session, integration_id)
    row.sync_interval_s = seconds
    return _integration(row)


# --- service accounts ---------------------------------------------------------


def _service_account(row: ServiceAccountRow) -> ServiceAccount:
    return ServiceAccount(
        id=row.id,
        integration_id=row.integration_id,
        label=row.label,
        kind=KeyKind(row.kind),
        key_id=row.key_id,
        status=KeyStatus(row.status),
        scopes=tuple(row.scopes),
        capabilities=tuple(row.capabilities),
        missing={k: list(v) for k, v in row.missing.items()},
        last_sync_at=row.last_sync_at,
        last_error=row.last_error,
        created_at=row.created_at,
        removed_at=row.removed_at,
        encrypted_secret=row.encrypted_secret,
    )


def add_service_account(
    session: Session,
    integration_id: int,
    *,
    label: str,
    kind: KeyKind,
    scopes: Sequence[str],
    capabilities: Sequence[str],
    missing: Mapping[str, Sequence[str]],
    key_id: str,
    encrypted_secret: str,
    status: KeyStatus,
    now: dt.datetime | None = None,
) -> ServiceAccount:
    """Store a key (already encrypted).

    A key in use anywhere, in this integration or another, is DuplicateNameError.
    """
    _integration_row(session, integration_id)
    holder = key_holder(session, key_id)
    if holder is not None:
        where = "" if holder.id == integration_id else f" to {holder.name!r}"
        raise DuplicateNameError(f"the key SG.{key_id}… is already added{where}")
    row = ServiceAccountRow(
        integration_id=integration_id,
        label=label,
        kind=str(kind),
        key_id=key_id,
        encrypted_secret=encrypted_secret,
        scopes=sorted(scopes),
        capabilities=list(capabilities),
        missing={k: list(v) for k, v in missing.items()},
        status=str(status),
        created_at=now or _now(),
    )
    session.add(row)
    session.flush()
    return _service_account(row)


def key_holder(session: Session, key_id: str) -> Integration | None:
    """The integration using the key with this id (removed keys are not in use)."""
    row = session.scalar(
        select(IntegrationRow)
        .join(ServiceAccountRow, ServiceAccountRow.integration_id == IntegrationRow.id)
        .where(
            ServiceAccountRow.key_id == key_id, ServiceAccountRow.removed_at.is_(None)
        )
        .limit(1)
    )
    return None if row is None else _integration(row)


def _sa_row(session: Session, sa_id: int) -> ServiceAccountRow:
    row = session.get(ServiceAccountRow, sa_id)
    if row is None:
        raise RecordNotFoundError(f"no service account {sa_id}")
    return row


def get_service_account(session: Session, sa_id: int) -> ServiceAccount:
    return _service_account(_sa_row(session, sa_id))


def list_service_accounts(
    session: Session, integration_id: int, *, include_removed: bool = False
) -> list[ServiceAccount]:
    """Keys of an integration, first added first (the sync engine prefers those)."""
    query = select(ServiceAccountRow).where(
        ServiceAccountRow.integration_id == integration_id
    )
    if not include_removed:
        query = query.where(ServiceAccountRow.removed_at.is_(None))
    rows = session.scalars(query.order_by(ServiceAccountRow.id))
    return [_service_account(row) for row in rows]


def find_service_account(
    session: Session, integration_id: int, label_or_key: str
) -> ServiceAccount:
    """A key in use, by its label (without case) or as `SG.<key id>` (`…` allowed)."""
    wanted = label_or_key.strip()
    keys = list_service_accounts(session, integration_id)
    if wanted.startswith("SG.") and wanted.rstrip(".…") != "SG":
        key_id = wanted.removeprefix("SG.").rstrip(".…")
        found = [sa for sa in keys if sa.key_id == key_id]
    else:
        found = [sa for sa in keys if sa.label.casefold() == wanted.casefold()]
    if len(found) > 1:
        raise RecordNotFoundError(
            f"{len(found)} keys are labelled {wanted!r}; name one as SG.<key id>"
        )
    if not found:
        shown = ", ".join(f"{sa.label!r} ({sa.display_key})" for sa in keys)
        raise RecordNotFoundError(
            f"no key {wanted!r} in use in this integration"
            + (f"; its keys: {shown}" if shown else "; it has none")
        )
    return found[0]


def remove_service_account(
    session: Session, sa_id: int, now: dt.datetime | None = None
) -> ServiceAccount:
    """Soft removal: the key stops syncing; what it collected is kept."""
    row = _sa_row(session, sa_id)
    if row.removed_at is None:
        row.removed_at = now or _now()
    return _service_account(row)


def set_service_account_status(
    session: Session,
    sa_id: int,
    status: KeyStatus,
    *,
    last_error: str | None = None,
    missing: Mapping[str, Sequence[str]] | None = None,
    last_sync_at: dt.datetime | None = None,
    scopes: Sequence[str] | None = None,
    capabilities: Sequence[str] | None = None,
) -> ServiceAccount:
    """Record a key's health. `last_error` is replaced (None clears it)."""
    row = _sa_row(session, sa_id)
    row.status = str(status)
    row.last_error = last_error
    if missing is not None:
        row.missing = {k: list(v) for k, v in missing.items()}
    if last_sync_at is not None:
        row.last_sync_at = last_sync_at
    if scopes is not None:
        row.scopes = sorted(scopes)
    if capabilities is not None:
        row.capabilities = list(capabilities)
    return _service_account(row)


def encrypted_secrets(session: Session) -> list[tuple[int, str]]:
    """(service account id, token) for every stored key, removed ones included."""
    rows = session.execute(
        select(ServiceAccountRow.id, ServiceAccountRow.encrypted_secret).order_by(
            ServiceAccountRow.id
        )
    )
    return [(sa_id, token) for sa_id, token in rows]


def replace_encrypted_secret(session: Session, sa_id: int, token: str) -> None:
    _sa_row(session, sa_id).encrypted_secret = token
