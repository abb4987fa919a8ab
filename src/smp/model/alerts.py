"""Alerts: the channel kinds, which severities a channel takes, when to send.

Pure rules shared by storage (what to queue and when), the senders and the
CLI. docs/alerts.md describes them for users.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ChannelKind(StrEnum):
    EMAIL = "email"
    SLACK = "slack"
    TEAMS = "teams"
    WEBHOOK = "webhook"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    # No longer open (resolved, accepted, snoozed, or a newer episode) when due.
    SKIPPED = "skipped"
    # Gave up after the retry plan's last attempt; kept and shown.
    FAILED = "failed"


class Timing(StrEnum):
    IMMEDIATE = "immediate"
    DIGEST = "digest"


# Most severe first; a channel's minimum takes its own and everything above.
SEVERITIES = ("high", "medium", "low")
# Sent at once; the others wait for the daily digest.
IMMEDIATE_SEVERITY = "high"


def admitted(min_severity: str) -> tuple[str, ...]:
    """The severities a channel with this minimum receives."""
    return SEVERITIES[: SEVERITIES.index(min_severity) + 1]


@dataclass(frozen=True, slots=True)
class RetryPlan:
    """Exponential backoff: first_s, doubled per failure up to cap_s; give up
    after max_attempts (the delivery is then `failed`, still listed)."""

    first_s: float = 60.0
    cap_s: float = 3600.0
    max_attempts: int = 8

    def delay(self, failures: int) -> dt.timedelta:
        """The wait after the `failures`-th failure (1 = the first)."""
        return dt.timedelta(seconds=min(self.cap_s, self.first_s * 2 ** (failures - 1)))


def next_digest_at(after: dt.datetime, hour: int) -> dt.datetime:
    """The first `hour`:00 UTC strictly after `after`: when a digest goes out."""
    moment = after.astimezone(dt.UTC)
    at = moment.replace(hour=hour, minute=0, second=0, microsecond=0)
    return at if at > moment else at + dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Channel:
    """A channel as it may be shown: `settings` hold no secret."""

    id: int
    name: str
    kind: ChannelKind
    min_severity: str
    settings: dict[str, Any]
    created_at: dt.datetime
    created_by: str | None = None


@dataclass(frozen=True, slots=True)
class AlertItem:
    """One finding's episode, everything a message says about it."""

    finding_id: int
    episode: int
    integration: str
    rule: str
    severity: str
    title: str
    subject: str
    evidence: dict[str, Any]
    fix: tuple[str, ...] = ()
    # The finding's page in SMP (None: SMP_PUBLIC_URL is not set).
    link: str | None = None

    @property
    def event_id(self) -> str:
        """Stable across retries and servers: a receiver may drop repeats by it."""
        return f"finding-{self.finding_id}-episode-{self.episode}"


@dataclass(frozen=True, slots=True)
class DeliveryCounts:
    """A channel's deliveries by state, for `smp alerts channel list`."""

    pending: int = 0
    retrying: int = 0
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    last_error: str | None = None
    last_sent_at: dt.datetime | None = None
