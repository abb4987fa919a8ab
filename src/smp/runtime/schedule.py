"""When an integration is due: the one rule `smp serve` and the Celery workers share."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from smp.model import Integration
from smp.storage import list_integrations, list_service_accounts

# Integrations without an interval of their own are synced this often
# (`smp serve --sync-every` overrides it for the server).
DEFAULT_SYNC_INTERVAL_S = 6 * 3600


def is_due(
    integration: Integration,
    now: dt.datetime,
    default_interval_s: int = DEFAULT_SYNC_INTERVAL_S,
) -> bool:
    """Never synced, or its interval has passed since its last sync."""
    last = integration.last_sync_at
    if last is None:
        return True
    if last.tzinfo is None:  # the database keeps naive UTC
        last = last.replace(tzinfo=dt.UTC)
    interval = integration.sync_interval_s or default_interval_s
    return now - last >= dt.timedelta(seconds=interval)


def due_integrations(
    session: Session,
    now: dt.datetime,
    default_interval_s: int = DEFAULT_SYNC_INTERVAL_S,
) -> list[Integration]:
    """Integrations with a key whose sync is due (a keyless one has nothing to read)."""
    return [
        integration
        for integration in list_integrations(session)
        if is_due(integration, now, default_interval_s)
        and list_service_accounts(session, integration.id)
    ]
