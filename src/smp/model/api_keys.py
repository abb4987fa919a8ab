"""API keys and teammate scopes: what changed between syncs, and whom to read.

Pure rules (no I/O). SendGrid lists an account's keys without scopes and
tells neither when a key was created nor when it was last used, so SMP keeps
its own sightings and says so (`NOT_FROM_SENDGRID`). A teammate's scopes cost
one request each (`GET /v3/teammates/{username}`), so a sync reads them in
turns within a budget (docs/adr/0021-teammate-scope-budget.md).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from smp.vocabulary import is_full_access, permission_scopes, write_scopes

# Said wherever a key's creation or last use would be shown.
NOT_FROM_SENDGRID = "not available from SendGrid"
TWO_FACTOR_REQUIRED = "2fa_required"
TWO_FACTOR_EXEMPT = "2fa_exempt"
# SendGrid's limits are not published per endpoint; 600 a minute is the one
# documented for v3 reads (fact sheet §8), used when no answer said its limit.
DEFAULT_RATE_LIMIT = 600
DEFAULT_SCOPE_BUDGET_SHARE = 0.10


@dataclass(frozen=True, slots=True)
class KeySighting:
    """One key as a sync read it: `GET /v3/api_keys/{id}`."""

    key_id: str
    name: str
    scopes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ScopeChange:
    """A key's scopes when SMP first saw it, or what changed since the last sync."""

    key_id: str
    change: str  # first_seen | changed
    added: tuple[str, ...]
    removed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """A key of the inventory; the times are SMP's sightings, not SendGrid's."""

    key_id: str
    name: str
    scopes: tuple[str, ...]
    first_seen: dt.datetime
    last_seen: dt.datetime
    scopes_changed_at: dt.datetime
    present: bool
    removed_at: dt.datetime | None

    @property
    def full_access(self) -> bool:
        return is_full_access(permission_scopes(self.scopes))

    @property
    def write_scopes(self) -> list[str]:
        return write_scopes(permission_scopes(self.scopes))


@dataclass(frozen=True, slots=True)
class TeammateScopes:
    """A teammate's scopes as last read, with SendGrid's two 2FA flags."""

    username: str
    user_type: str
    scopes: tuple[str, ...]
    two_factor_required: bool
    two_factor_exempt: bool
    fetched_at: dt.datetime


def scope_changes(
    known: Mapping[str, Sequence[str]], seen: Iterable[KeySighting]
) -> list[ScopeChange]:
    """`known`: key id -> the scopes stored for it. A key never seen before
    starts its history; a known one adds an entry only when its scopes differ."""
    changes = []
    for key in seen:
        before = known.get(key.key_id)
        if before is None:
            changes.append(ScopeChange(key.key_id, "first_seen", key.scopes, ()))
            continue
        added = tuple(sorted(set(key.scopes) - set(before)))
        removed = tuple(sorted(set(before) - set(key.scopes)))
        if added or removed:
            changes.append(ScopeChange(key.key_id, "changed", added, removed))
    return changes


def teammate_scopes_of(
    username: str, user_type: str, scopes: Iterable[str], now: dt.datetime
) -> TeammateScopes:
    """Split SendGrid's answer into permissions and its 2FA flags."""
    given = set(scopes)
    return TeammateScopes(
        username=username,
        user_type=user_type,
        scopes=tuple(sorted(permission_scopes(given))),
        two_factor_required=TWO_FACTOR_REQUIRED in given,
        two_factor_exempt=TWO_FACTOR_EXEMPT in given,
        fetched_at=now,
    )


def scope_budget(
    rate_limit: int | None, share: float = DEFAULT_SCOPE_BUDGET_SHARE
) -> int:
    """B = max(1, ⌊L × share⌋): L is the limit SendGrid reported
    (`X-RateLimit-Limit`), or 600 when it reported none."""
    limit = rate_limit if rate_limit and rate_limit > 0 else DEFAULT_RATE_LIMIT
    return max(1, math.floor(limit * share))


def teammates_to_read(
    listed: Sequence[tuple[str, str]],
    known: Mapping[str, tuple[str, dt.datetime]],
    budget: int,
    now: dt.datetime,
    refresh_after: dt.timedelta,
    joined: Collection[str] = (),
) -> list[str]:
    """Whose scopes this sync reads, at most `budget` usernames.

    `listed`: (username, user_type) from this sync's teammates listing;
    `known`: username -> (user_type, when read) of the stored scopes;
    `joined`: the members first listed after the last reading (new ones).

    The first reading takes everyone, in listing order, up to the budget.
    Later ones take the members whose role changed, then the new ones, then
    a rotating slice of the rest: never read or read more than
    `refresh_after` ago, the longest unread first, at most ⌈T × Δt ÷
    refresh_after⌉ of them (Δt: time since the last reading), so a sync
    right after another reads no one it need not and the rotation goes
    round once per `refresh_after` however often syncs run. What does not
    fit waits for the next sync.
    """
    if not known:
        return [username for username, _ in listed][: max(0, budget)]
    newcomers = set(joined)
    changed: list[str] = []
    new: list[str] = []
    due: list[str] = []
    for username, user_type in listed:
        stored = known.get(username)
        if stored is None:
            (new if username in newcomers else due).append(username)
        elif stored[0] != user_type:
            changed.append(username)
        elif now - stored[1] >= refresh_after:
            due.append(username)
    never = dt.datetime.min.replace(tzinfo=dt.UTC)
    due.sort(key=lambda name: (known[name][1] if name in known else never, name))
    last_read = max(at for _, at in known.values())
    if refresh_after <= dt.timedelta(0):
        slice_size = len(due)  # no window: everyone is always due
    else:
        elapsed = max(0.0, (now - last_read) / refresh_after)
        slice_size = math.ceil(len(listed) * elapsed)
    return (changed + new + due[:slice_size])[: max(0, budget)]
