"""Sync engine: SendGrid client -> domain model -> storage.

Entry points: `run_sync` (one integration), `SyncContext` (transport, clock,
limits). Connecting keys is a use case: `smp.services.onboarding`.
"""

from __future__ import annotations

from smp.sync.context import GLOBAL_IN_FLIGHT_ENV, SyncContext, default_limiter
from smp.sync.engine import COLLECTED, run_sync
from smp.sync.off_loop_writers import ProcessWriter, ThreadWriter, Writer, writer_for
from smp.sync.report import SyncReport

__all__ = [
    "COLLECTED",
    "GLOBAL_IN_FLIGHT_ENV",
    "ProcessWriter",
    "SyncContext",
    "SyncReport",
    "ThreadWriter",
    "Writer",
    "default_limiter",
    "run_sync",
    "writer_for",
]
