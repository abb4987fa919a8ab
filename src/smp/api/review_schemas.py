"""Bodies of `/reviews`: campaigns, their items, decisions and sign-off.

A campaign and an item have the CLI's `smp reviews list|items --json` shapes
(docs/reviews.md), so a script reads the same keys from either.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import ConfigDict, Field

from smp.api.schemas import Id, Strict
from smp.model.reviews import CampaignStatus, Decision, ReviewerRule
from smp.services.input_rules import PRINTABLE

Text = Annotated[str, Field(min_length=1, max_length=1000, pattern=PRINTABLE)]


class CampaignIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Q1 2027 SendGrid review",
                    "integrations": ["Acme mail"],
                    "due": "2027-03-31",
                    "reviewer_rule": "manager",
                }
            ]
        },
    )

    name: Annotated[str, Field(min_length=1, max_length=200, pattern=PRINTABLE)]
    integrations: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=200)]],
        Field(min_length=1, max_length=500, description="Names or ids"),
    ]
    due: dt.date | None = None
    reviewer_rule: ReviewerRule = ReviewerRule.MANAGER


class CampaignOut(Strict):
    id: int
    name: str
    status: CampaignStatus
    integrations: list[str] = Field(description="The integrations' names")
    due: dt.date | None
    items: int = Field(description="Items the caller may see (a reviewer: own)")
    decided: int


class CampaignDetailOut(CampaignOut):
    reviewer_rule: ReviewerRule
    created_by: str | None
    created_at: dt.datetime
    signed_off_by: str | None
    signed_off_at: dt.datetime | None
    snapshot_sha256: str = Field(description="SHA-256 of the frozen snapshot")


class ItemOut(Strict):
    item_id: int
    integration: str
    email: str | None
    role: str | None
    classification: str
    reviewer: str | None = Field(description="The SMP user; null = the admins")
    decision: Decision | None
    reason: str | None
    decided_by: str | None
    decided_at: dt.datetime | None
    remediation: str = Field(description="none, pending, verified or overdue")


class DecisionIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "filter": "classification=employee and department=Marketing",
                    "decision": "keep",
                },
                {"items": [12, 13], "decision": "revoke", "reason": "Left in May"},
            ]
        },
    )

    items: Annotated[list[Id], Field(default_factory=list, max_length=200_000)]
    filter: Annotated[str, Field(min_length=1, max_length=1000)] | None = None
    decision: Decision
    role: Annotated[str, Field(max_length=16)] | None = None
    reason: Text | None = None
    override: bool = Field(
        default=False,
        description="With `filter`: also replace the decisions of items "
        "decided already (otherwise only undecided items are decided).",
    )


class DecidedOut(Strict):
    decided: int = Field(description="How many items were decided")
    already_decided: int = Field(
        description="With `filter`: how many of the items it selects had a "
        "decision already; left as they were, or replaced with `override`"
    )
