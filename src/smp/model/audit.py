"""The audit trail's entries and their hash chain (docs/audit.md).

Each entry's hash is SHA-256 of the previous entry's hash followed by the
entry's canonical form, so changing, removing or reordering any stored entry
breaks the chain from that entry on. Ids are consecutive (SMP assigns them
under the head row's lock), which makes a removed row show as a gap even if
whoever removed it also fixed up the next row's `prev_hash`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# The `prev_hash` of the first entry: no entry comes before it.
GENESIS_HASH = "0" * 64
# The entry SMP writes when it finds the head row deleted and recreates it
# from the last entry left. Entries deleted together with the head cannot
# show any more, so verify reports this entry as a break for good.
HEAD_RECREATED = "audit.head_recreated"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One recorded action: who (`actor`, None = SMP itself), from where, what."""

    id: int
    occurred_at: dt.datetime
    actor: str | None
    source: str
    action: str
    target: str
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An entry as read back from the table, with the two hashes stored beside it."""

    entry: AuditEntry
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first row at which the chain does not hold, and why, in words."""

    row_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class ChainReport:
    entries: int
    broken: ChainBreak | None

    @property
    def intact(self) -> bool:
        return self.broken is None


def plain_details(details: Mapping[str, Any]) -> dict[str, Any]:
    """`details` as JSON would give them back (dates as ISO text, tuples as lists).

    Hashing what the database returns, not what the caller passed, keeps a
    verified chain independent of the caller's Python types.
    """
    loaded: dict[str, Any] = json.loads(json.dumps(dict(details), default=_text))
    return loaded


def _text(value: object) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def utc_text(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("audit times are UTC-aware")
    return moment.astimezone(dt.UTC).isoformat()


def canonical(entry: AuditEntry) -> str:
    """Sorted-key compact JSON of every field: the exact text that is hashed.

    `details` must be plain JSON values already (`plain_details`): storage
    hashes what it stores, and reads back what JSON gives.
    """
    return json.dumps(
        {
            "id": entry.id,
            "occurred_at": utc_text(entry.occurred_at),
            "actor": entry.actor,
            "source": entry.source,
            "action": entry.action,
            "target": entry.target,
            "details": entry.details,
        },
        sort_keys=True,
        separators=(",", ":"),
    )


def entry_hash(prev_hash: str, entry: AuditEntry) -> str:
    return hashlib.sha256((prev_hash + canonical(entry)).encode("utf-8")).hexdigest()


def verify(rows: Iterable[StoredEntry], head: tuple[int, str] | None) -> ChainReport:
    """Walk `rows` in id order; the first row that breaks the chain, and why.

    `head` is the (last id, last hash) recorded with every append, None when
    its row is missing (the migration creates it, so only a hand deleted it);
    it is what makes removing the last rows show.
    """
    count = 0
    expected_id = 1
    prev = GENESIS_HASH
    for row in rows:
        row_id = row.entry.id
        if row_id != expected_id:
            return ChainReport(
                count, ChainBreak(row_id, f"entry {expected_id} before it was deleted")
            )
        if row.prev_hash != prev:
            return ChainReport(
                count,
                ChainBreak(row_id, "the entry before it was deleted or changed"),
            )
        if entry_hash(row.prev_hash, row.entry) != row.hash:
            return ChainReport(count, ChainBreak(row_id, "it was edited"))
        if row.entry.action == HEAD_RECREATED:
            return ChainReport(count, ChainBreak(row_id, _RECREATED))
        count += 1
        expected_id += 1
        prev = row.hash
    return ChainReport(count, _against_head(count, prev, head))


_MISSING = (
    "the head row (audit_head) is missing: it was deleted outside SMP, "
    "so deleted last entries would not show"
)
_RECREATED = (
    "the head row (audit_head) had been deleted outside SMP and SMP recreated "
    "it here from the last entry left; entries deleted with it would not show"
)


def _against_head(
    count: int, last_hash: str, head: tuple[int, str] | None
) -> ChainBreak | None:
    """The chain's end against the head that each append updates."""
    if head is None:
        return ChainBreak(count, _MISSING)
    head_id, head_hash = head
    if head_id > count:
        return ChainBreak(count + 1, f"entries {count + 1} to {head_id} were deleted")
    if head_id < count:
        return ChainBreak(head_id + 1, "it was added outside SMP (after the head)")
    if head_hash != last_hash:
        return ChainBreak(count, "it does not match the recorded head")
    return None
