"""Integrations as the CLI, the API and the web change them: list, rename, delete.

Refusals are `Refused`: a name another integration has (in any case) is a
conflict about the field `name`; an unknown integration is not found.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from smp.model import Integration
from smp.services.audit import Actor, record
from smp.services.input_rules import MAX_ID
from smp.services.refusals import Refused, refusing
from smp.storage import (
    delete_integration,
    get_integration,
    list_integrations,
    list_service_accounts,
    list_sync_runs,
    read_session,
    set_sync_interval,
)
from smp.storage.accounts import get_identity
from smp.storage.integrations import integration_footprint, rename_integration


@dataclass(frozen=True, slots=True)
class KeyLine:
    """One key in use, by its public id only (never the secret)."""

    label: str
    key_id: str
    kind: str
    status: str


@dataclass(frozen=True, slots=True)
class Summary:
    """An integration at a glance: its account, keys and how its last sync went."""

    name: str
    region: str
    account: str | None
    keys: tuple[KeyLine, ...]
    last_sync: dt.datetime | None
    last_outcome: str | None


def _summary(session: Session, integration: Integration) -> Summary:
    identity = get_identity(session, integration.id)
    runs = list_sync_runs(session, integration.id, limit=1)
    outcome = None
    if runs:
        outcome = runs[0].outcome.value if runs[0].outcome else "running"
    keys = tuple(
        KeyLine(sa.label, sa.key_id, sa.kind.value, sa.status.value)
        for sa in list_service_accounts(session, integration.id)
    )
    return Summary(
        name=integration.name,
        region=integration.region,
        account=identity.username if identity else None,
        keys=keys,
        last_sync=integration.last_sync_at,
        last_outcome=outcome,
    )


def summaries(engine: Engine) -> list[Summary]:
    """Every integration, by name."""
    with read_session(engine) as session:
        return [_summary(session, i) for i in list_integrations(session)]


def find(engine: Engine, name_or_id: str | int) -> Integration:
    """An integration by name (without case) or id; not found is refused."""
    if isinstance(name_or_id, int) and not 1 <= name_or_id <= MAX_ID:
        raise Refused(f"no integration {name_or_id!r}", kind="not_found")
    with refusing(), read_session(engine) as session:
        return get_integration(session, name_or_id)


def rename(
    engine: Engine,
    integration_id: int,
    new_name: str,
    *,
    audit_as: Actor | None = None,
) -> Integration:
    """Give an integration another name; its data and keys stay."""
    with refusing(name_field="name"), Session(engine) as session, session.begin():
        before = get_integration(session, integration_id).name
        renamed = rename_integration(session, integration_id, new_name)
        details = {"from": before, "to": renamed.name}
        record(session, audit_as, "integration.rename", renamed.name, details)
        return renamed


def set_interval(
    engine: Engine,
    integration_id: int,
    seconds: int | None,
    *,
    audit_as: Actor | None = None,
) -> Integration:
    """How often the scheduler syncs it (None: the server's default)."""
    with refusing(), Session(engine) as session, session.begin():
        changed = set_sync_interval(session, integration_id, seconds)
        details = {"sync_interval_s": seconds}
        record(session, audit_as, "integration.interval", changed.name, details)
        return changed


def footprint(engine: Engine, integration_id: int) -> str:
    """What deleting the integration removes, in words ("3 keys, 40 members…")."""
    with refusing(), read_session(engine) as session:
        return integration_footprint(session, integration_id).describe()


def delete(
    engine: Engine, integration_id: int, *, audit_as: Actor | None = None
) -> None:
    """Delete an integration with its keys and everything collected for it."""
    with refusing(), Session(engine) as session, session.begin():
        name = get_integration(session, integration_id).name
        delete_integration(session, integration_id)
        record(session, audit_as, "integration.delete", name, {"id": integration_id})
