"""Bodies of `/alert-channels`: a channel as it may be shown, and a new one.

A channel's secrets (a Slack or Teams webhook URL, the generic webhook's URL
and HMAC secret, the SMTP password) go in and never come out: an answer shows
where a channel sends as `target`, a host and never a URL path, like
`smp alerts channel list --json`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from smp.api.schemas import Strict
from smp.model.alerts import ChannelKind
from smp.model.findings import Severity
from smp.services.alerts.channels import (
    DEFAULT_SMTP_PORT,
    DEFAULT_TIMEOUT_S,
    MAX_NAME,
    MAX_RECIPIENTS,
    MAX_TIMEOUT_S,
    MIN_HMAC_SECRET,
)
from smp.services.input_rules import PRINTABLE

AT = "2026-03-01T09:30:00Z"
DELIVERIES_EXAMPLE: dict[str, Any] = {
    "pending": 1,
    "retrying": 2,
    "sent": 40,
    "skipped": 3,
    "failed": 1,
    "last_error": "hooks.slack.com/… answered 500",
    "last_sent_at": AT,
}
CHANNEL_EXAMPLE: dict[str, Any] = {
    "id": 2,
    "name": "Security team",
    "kind": "slack",
    "min_severity": "medium",
    "target": "hooks.slack.com/…",
    "created_at": AT,
    "created_by": "ada",
    "deliveries": DELIVERIES_EXAMPLE,
}


def _example(value: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [value]})


class DeliveriesOut(BaseModel):
    model_config = _example(DELIVERIES_EXAMPLE)

    pending: int = Field(description="Waiting for their first try (or the digest)")
    retrying: int = Field(description="Failed at least once; tried again later")
    sent: int
    skipped: int = Field(description="No longer open when due: not sent")
    failed: int = Field(
        description="Given up after the last retry; a test message that goes "
        "through puts them back in the queue"
    )
    last_error: str | None = Field(
        description="Why the latest failing delivery failed (never a URL path)"
    )
    last_sent_at: dt.datetime | None


class ChannelOut(BaseModel):
    model_config = _example(CHANNEL_EXAMPLE)

    id: int
    name: str
    kind: ChannelKind
    min_severity: Severity = Field(description="Sends this severity and above")
    target: str = Field(
        description="Where it sends: a host, or an SMTP server and recipients; "
        "never a URL path, a token or a password"
    )
    created_at: dt.datetime
    created_by: str | None = Field(description="The SMP user; null from the CLI")
    deliveries: DeliveriesOut


class ChannelAddedOut(BaseModel):
    model_config = _example(
        {
            "channel": CHANNEL_EXAMPLE,
            "warnings": ["the URL is http://: alerts travel unencrypted"],
        }
    )

    channel: ChannelOut
    warnings: list[str]


class ChannelTestOut(BaseModel):
    model_config = _example(
        {
            "channel": "Security team",
            "delivered": False,
            "error": "hooks.slack.com/… answered 500",
            "due_again": 0,
        }
    )

    channel: str
    delivered: bool = Field(description="true: the receiver took the message")
    error: str | None = Field(description="Why it was not delivered (one line)")
    due_again: int = Field(
        description="Deliveries that had failed for good and are now queued again "
        "(only after a delivered test)"
    )


Secret = Annotated[SecretStr, Field(min_length=1, max_length=2000)]
Address = Annotated[str, Field(min_length=3, max_length=320, pattern=PRINTABLE)]


class ChannelIn(Strict):
    """The fields of the channel's kind; the others are left out."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Security team",
                    "kind": "slack",
                    "min_severity": "medium",
                    "url": "https://hooks.slack.com/services/T000/B000/XXXX",
                },
                {
                    "name": "Ops webhook",
                    "kind": "webhook",
                    "url": "https://alerts.example.com/smp",
                    "hmac_secret": "a-long-random-shared-secret",
                },
                {
                    "name": "IT mailbox",
                    "kind": "email",
                    "min_severity": "high",
                    "smtp_host": "smtp.example.com",
                    "smtp_port": 587,
                    "sender": "smp@example.com",
                    "recipients": ["it@example.com"],
                    "smtp_user": "smp",
                    "smtp_password": "app-password",
                },
            ]
        },
    )

    name: str = Field(min_length=1, max_length=MAX_NAME, pattern=PRINTABLE)
    kind: ChannelKind
    min_severity: Severity = Severity.LOW
    url: Secret | None = Field(
        None,
        description="slack, teams, webhook: an http(s) URL; kept encrypted, "
        "never shown again",
    )
    hmac_secret: Secret | None = Field(
        None,
        description=f"webhook: the HMAC-SHA256 secret, at least {MIN_HMAC_SECRET} "
        "characters (docs/alerts.md says how a receiver checks it)",
    )
    smtp_host: str | None = Field(None, max_length=253, pattern=PRINTABLE)
    smtp_port: int = Field(DEFAULT_SMTP_PORT, ge=1, le=65535)
    sender: Address | None = Field(None, description="email: the From address")
    recipients: list[Address] = Field(
        default_factory=list, max_length=MAX_RECIPIENTS, description="email: To"
    )
    smtp_user: str | None = Field(None, max_length=320, pattern=PRINTABLE)
    smtp_password: Secret | None = None
    timeout_s: float = Field(DEFAULT_TIMEOUT_S, gt=0, le=MAX_TIMEOUT_S)
