"""The API-key inventory and teammates' scopes as the CLI, API and exports show them.

SendGrid has no creation or last-used date for a key: `first_seen` and
`last_seen` are when SMP's syncs saw it, and every view says so
(`smp.model.api_keys.NOT_FROM_SENDGRID`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from smp.model.api_keys import NOT_FROM_SENDGRID, ApiKeyRecord, TeammateScopes
from smp.storage import RecordNotFoundError, list_service_accounts
from smp.storage.api_keys import list_api_keys, list_teammate_scopes, scope_history
from smp.vocabulary import Capability

DATES_NOTE = (
    f"Created and last used: {NOT_FROM_SENDGRID} (its API has no such dates); "
    "first_seen and last_seen are when SMP's syncs saw the key."
)


def _moment(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.isoformat()


def api_key_json(key: ApiKeyRecord) -> dict[str, Any]:
    """`smp api-keys --json`'s object: exactly these keys, in this order."""
    return {
        "key_id": key.key_id,
        "name": key.name,
        "scopes": list(key.scopes),
        "first_seen": _moment(key.first_seen),
        "last_seen": _moment(key.last_seen),
        "full_access": key.full_access,
        "write_scopes": key.write_scopes,
    }


def api_keys(session: Session, integration_id: int) -> list[dict[str, Any]]:
    """The keys SendGrid listed at the last sync that read them."""
    return [api_key_json(k) for k in list_api_keys(session, integration_id)]


def api_key_rows(session: Session, integration_id: int) -> list[dict[str, Any]]:
    """The inventory as a table to export: lists as space-separated text (one
    cell each in CSV and XLSX), and the dates SendGrid does not give."""
    return [
        {
            **row,
            "scopes": " ".join(row["scopes"]),
            "write_scopes": " ".join(row["write_scopes"]),
            "created_and_last_used": NOT_FROM_SENDGRID,
        }
        for row in api_keys(session, integration_id)
    ]


def key_history(
    session: Session, integration_id: int, key_id: str | None = None
) -> list[dict[str, Any]]:
    """`[{"key_id", "name", "seen_at", "change", "added", "removed"}]`, oldest
    first: each key's scopes when a sync first saw it (`first_seen`), then
    each change a later sync saw (`changed`). `key_id` narrows it to one key,
    also one SendGrid no longer lists; RecordNotFoundError if none has it."""
    names = {
        k.key_id: k.name
        for k in list_api_keys(session, integration_id, include_removed=True)
    }
    if key_id is not None:
        # As shown elsewhere: SG.<key id>… is accepted too.
        key_id = key_id.strip().removeprefix("SG.").rstrip("….")
        if key_id not in names:
            raise RecordNotFoundError(f"no API key {key_id!r} in this integration")
    return [
        {
            "key_id": change.key_id,
            "name": names.get(change.key_id),
            "seen_at": _moment(seen_at),
            "change": change.change,
            "added": list(change.added),
            "removed": list(change.removed),
        }
        for seen_at, change in scope_history(session, integration_id, key_id)
    ]


def teammate_scope_json(mate: TeammateScopes) -> dict[str, Any]:
    return {
        "username": mate.username,
        "user_type": mate.user_type,
        "scopes": list(mate.scopes),
        "two_factor_required": mate.two_factor_required,
        "two_factor_exempt": mate.two_factor_exempt,
        "read_at": _moment(mate.fetched_at),
    }


def teammate_scope_rows(session: Session, integration_id: int) -> list[dict[str, Any]]:
    """Each teammate's scopes as last read (in turns, docs/adr/0021), scopes as
    space-separated text for spreadsheets."""
    mates = list_teammate_scopes(session, integration_id)
    return [
        {**row, "scopes": " ".join(row["scopes"])}
        for row in map(teammate_scope_json, mates)
    ]


def unreadable_message(session: Session, integration_id: int) -> str | None:
    """Why the inventory is empty when no connected key may read it."""
    keys = list_service_accounts(session, integration_id)
    if any(Capability.API_KEYS in k.capabilities for k in keys if not k.is_removed):
        return None
    who = "This key cannot" if len(keys) == 1 else "No connected key can"
    return f"{who} read API keys: add api_keys.read"
