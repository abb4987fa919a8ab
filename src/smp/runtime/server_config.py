"""Settings of the API/web server, passed in by whoever builds the app (no globals)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from smp.runtime.schedule import DEFAULT_SYNC_INTERVAL_S
from smp.storage.logins import LoginThrottle


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
    # Waits after failed sign-ins, per user name at one client address.
    login_throttle: LoginThrottle = field(default_factory=LoginThrottle)
