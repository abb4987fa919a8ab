"""Settings of the API/web server, passed in by whoever builds the app (no globals)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

DEFAULT_SYNC_INTERVAL_S = 6 * 3600


@dataclass(frozen=True, slots=True)
class ServerConfig:
    # Where SendGrid is; None is the real service (the demo points it at a simulator).
    sendgrid_base_url: str | None = None
    default_sync_interval_s: int = DEFAULT_SYNC_INTERVAL_S
    # How often the scheduler looks for integrations whose interval has passed.
    scheduler_tick_s: float = 60.0
    session_ttl: dt.timedelta = dt.timedelta(hours=12)
    # Set when SMP is served over https (directly or behind a proxy).
    secure_cookies: bool = False
    max_body_bytes: int = 64 * 1024
    # Failed logins: at most this many per user name, and per client, per window.
    login_max_failures: int = 5
    login_window: dt.timedelta = dt.timedelta(minutes=15)
