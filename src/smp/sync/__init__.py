"""Sync engine: SendGrid client -> domain model -> storage.

Entry points: `run_sync` (one integration), `connect` / `add_key` (keys are
checked before they are stored), `SyncContext` (transport, clock, limits).
"""

from __future__ import annotations

from smp.sync.context import GLOBAL_IN_FLIGHT_ENV, SyncContext, default_limiter
from smp.sync.engine import COLLECTED, run_sync
from smp.sync.key_onboarding import NewKey, add_key, check_key, connect
from smp.sync.key_rules import (
    CLI_HINTS,
    AccountAlreadyConnected,
    BillingUnconfirmed,
    Hints,
    KeyAlreadyConnected,
    KeyRefused,
    Slot,
)
from smp.sync.off_loop_writers import ProcessWriter, ThreadWriter, Writer, writer_for
from smp.sync.report import SyncReport

__all__ = [
    "CLI_HINTS",
    "COLLECTED",
    "GLOBAL_IN_FLIGHT_ENV",
    "AccountAlreadyConnected",
    "BillingUnconfirmed",
    "Hints",
    "KeyAlreadyConnected",
    "KeyRefused",
    "NewKey",
    "ProcessWriter",
    "Slot",
    "SyncContext",
    "SyncReport",
    "ThreadWriter",
    "Writer",
    "add_key",
    "check_key",
    "connect",
    "default_limiter",
    "run_sync",
    "writer_for",
]
