"""What a later sync may keep instead of asking SendGrid again (ADR 12).

Two answers change rarely and are cheap to be late about, so they are re-read
only when they may have changed:

* the account identity (username, user id, plan), at most once per window;
* a subuser's credits, when its figures for the open months (the current
  one, and the previous one during its grace days) differ from those they
  were read with (sending is what consumes credits), or when they are older
  than the window (a reset or an allowance changed without sends).

Everything else is read on every sync: scopes, members, invites, the
subuser listing, account credits, open volume months, invoices.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import astuple

from smp.model import AccountIdentity, MonthlyVolume, is_month_closed

DEFAULT_REFRESH_AFTER = dt.timedelta(hours=24)


def identity_is_fresh(
    stored: AccountIdentity | None,
    source: int,
    now: dt.datetime,
    refresh_after: dt.timedelta,
) -> bool:
    """Read by a sync (connecting stores no source key), by the same key,
    within the window."""
    if stored is None or stored.synced_at is None or stored.user_id is None:
        return False
    if stored.source_service_account_id != source:
        return False
    return now - stored.synced_at < refresh_after


# Subuser -> (when its credits were read, the month basis they were read with).
Known = Mapping[str, tuple[dt.datetime | None, str | None]]


def stale_credits(
    names: Sequence[str], known: Known, now: dt.datetime, refresh_after: dt.timedelta
) -> list[str]:
    """Subusers whose credits were never read, or not within the window."""
    stale = []
    for name in names:
        read_at = known.get(name, (None, None))[0]
        if read_at is None or now - read_at >= refresh_after:
            stale.append(name)
    return stale


def open_months_basis(volumes: Iterable[MonthlyVolume], now: dt.datetime) -> str:
    """A digest of a subuser's figures for the months still open (the ones
    every sync re-reads), stored next to its credits. Closed months never
    change, so a full and an incremental sync agree on it."""
    parts = sorted(
        f"{v.month.isoformat()}:{astuple(v.metrics)}"
        for v in volumes
        if not is_month_closed(v.month, now)
    )
    return hashlib.blake2b(";".join(parts).encode(), digest_size=16).hexdigest()


def basis_changed(
    names: Sequence[str], known: Known, bases: Mapping[str, str]
) -> list[str]:
    """Subusers whose open months differ from when their credits were read
    (a month opening or closing counts as a change)."""
    return [n for n in names if known.get(n, (None, None))[1] != bases.get(n)]
