"""Bodies of `/findings`, `/finding-thresholds` and an integration's posture.

A finding's fields are the CLI's `smp findings --json` shape (docs/cli.md),
so a script reads the same keys from either.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from smp.api.schemas import Id, Strict
from smp.model.findings import FindingStatus, Severity
from smp.services.input_rules import PRINTABLE

AT = "2026-03-01T09:30:00Z"
FINDING_EXAMPLE: dict[str, Any] = {
    "id": 7,
    "integration": "Acme mail",
    "rule": "leaver_with_access",
    "severity": "high",
    "status": "open",
    "title": "Leaver still has access: grace@example.com",
    "subject": "grace@example.com",
    "first_seen": AT,
    "resolved_at": None,
    "evidence": {
        "kind": "teammate",
        "email": "grace@example.com",
        "role": "admin",
        "classification": "leaver",
        "leaver_since": AT,
    },
}
EVENT_EXAMPLE: dict[str, Any] = {
    "kind": "accepted",
    "episode": 1,
    "actor": "alice",
    "reason": "Hands over the account on Friday",
    "snoozed_until": None,
    "occurred_at": AT,
}


def _example(value: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [value]})


class FindingOut(BaseModel):
    model_config = _example(FINDING_EXAMPLE)

    id: int
    integration: str = Field(description="The integration's name")
    rule: str = Field(description="The rule's id (docs/findings.md)")
    severity: Severity
    status: FindingStatus
    title: str
    subject: str = Field(description="Who or what the finding is about")
    first_seen: dt.datetime
    resolved_at: dt.datetime | None = Field(
        description="When its condition last ended; null while it holds"
    )
    evidence: dict[str, Any] = Field(description="The facts the rule saw")


class FindingEventOut(BaseModel):
    model_config = _example(EVENT_EXAMPLE)

    kind: str = Field(
        description="opened, resolved, reopened, accepted, snoozed or unsnoozed"
    )
    episode: int = Field(description="Which occurrence of the condition")
    actor: str | None = Field(
        description="The SMP user, 'command line', or null for SMP's own evaluation"
    )
    reason: str | None
    snoozed_until: dt.datetime | None
    occurred_at: dt.datetime


class FindingDetailOut(FindingOut):
    model_config = _example(
        {
            **FINDING_EXAMPLE,
            "episode": 1,
            "explanation": "The account belongs to a person who has left.",
            "fix": ["In SendGrid, open Settings → Teammates.", "Delete the teammate."],
            "events": [EVENT_EXAMPLE],
        }
    )

    episode: int = Field(
        description="Grows by one each time a resolved finding returns"
    )
    explanation: str | None = Field(description="Why the rule matters")
    fix: list[str] = Field(description="Steps in SendGrid's UI")
    events: list[FindingEventOut] = Field(description="Every change, oldest first")


Reason = Annotated[
    str,
    Field(
        min_length=1,
        max_length=1000,
        pattern=PRINTABLE,
        examples=["Contractor until the migration ends"],
    ),
]


class AcceptIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "Contractor until March"}]},
    )

    reason: Reason


class SnoozeIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"reason": "Audit next week", "until": "2026-03-15"}]
        },
    )

    reason: Reason
    until: dt.date = Field(description="It opens again from 00:00 UTC on this date")


class ThresholdOut(BaseModel):
    model_config = _example(
        {
            "rule": "too_many_admins",
            "name": "share_percent",
            "unit": "percent",
            "minimum": 0,
            "maximum": 100,
            "default": 30,
            "global_value": None,
            "overrides": {"Acme mail": 20},
        }
    )

    rule: str
    name: str
    unit: str
    minimum: int
    maximum: int
    default: int = Field(description="The rule's built-in value")
    global_value: int | None = Field(description="Set in SMP for every integration")
    overrides: dict[str, int] = Field(description="By integration name")


class ThresholdIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"value": 20, "integration_id": None}]},
    )

    value: int | None = Field(description="null removes it: the next one down applies")
    integration_id: Id | None = Field(
        None, description="Only for this integration; null: globally"
    )


class PostureOut(BaseModel):
    model_config = _example(
        {"evaluated_at": AT, "score": 72, "high": 1, "medium": 1, "low": 0}
    )

    evaluated_at: dt.datetime
    score: int = Field(description="0-100: 100 - 20/high - 8/medium - 2/low open")
    high: int
    medium: int
    low: int
