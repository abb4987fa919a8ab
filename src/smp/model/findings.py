"""Findings: what needs action in an integration, found by pure rules over facts.

A `Rule` reads the facts of one integration (members, accounts, credits, …,
each a `Fact` that a storage loader fills in bulk for every integration at
once) and returns `Observation`s: one per subject that meets its condition.
Storage turns observations into findings and keeps their lifecycle
(docs/findings.md). Rules never touch the database or the clock: `now` and
the thresholds come in `Facts`, so a rule is tested with plain values.

Adding a rule: one function `(Facts) -> list[Observation] | None` and a
`Rule(...)` beside it, then one line in `smp.model.rules_registry.RULES`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar, cast

T = TypeVar("T")


class Severity(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class FindingStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    ACCEPTED = "accepted"
    SNOOZED = "snoozed"


class FindingEventKind(StrEnum):
    OPENED = "opened"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    ACCEPTED = "accepted"
    SNOOZED = "snoozed"
    UNSNOOZED = "unsnoozed"


# Statuses in which the condition still holds (a resolved finding's has ended).
LIVE_STATUSES = (FindingStatus.OPEN, FindingStatus.ACCEPTED, FindingStatus.SNOOZED)

# Posture score: 100 minus these points per *open* finding, floored at 0.
SCORE_WEIGHTS: Mapping[Severity, int] = {
    Severity.HIGH: 20,
    Severity.MEDIUM: 8,
    Severity.LOW: 2,
}


def posture_score(open_by_severity: Mapping[str, int]) -> int:
    """0–100: 100 minus the weighted open findings, never below 0.

    Accepted and snoozed findings do not count: someone decided about them.
    """
    lost = sum(SCORE_WEIGHTS[s] * open_by_severity.get(s, 0) for s in Severity)
    return max(0, 100 - lost)


@dataclass(frozen=True, eq=False)
class Fact(Generic[T]):
    """The name of one kind of fact; `T` is what a rule gets for one integration.

    Storage registers a loader per name (smp.storage.finding_facts.LOADERS).
    """

    name: str


@dataclass(frozen=True, slots=True)
class Threshold:
    """A number a rule compares with; set globally or per integration."""

    name: str
    default: int
    minimum: int
    maximum: int
    unit: str  # "days" | "percent"
    description: str


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything a rule may read about one integration at one evaluation."""

    integration_id: int
    now: dt.datetime
    values: Mapping[str, Any]
    # This integration's thresholds, by rule id then threshold name.
    thresholds: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def get(self, fact: Fact[T]) -> T:
        return cast(T, self.values[fact.name])

    def threshold(self, rule: Rule, name: str) -> int:
        return self.thresholds.get(rule.id, {}).get(name, rule.default(name))


@dataclass(frozen=True, slots=True)
class Observation:
    """A subject that meets a rule's condition now.

    `subject_key` must be stable between syncs (a member key, a username), so
    the same subject is the same finding; `evidence` is JSON-able facts only.
    """

    subject_key: str
    subject_label: str
    evidence: Mapping[str, Any]


# None: the rule cannot tell for this integration (its data is missing), so
# the integration's findings of that rule are left as they are.
Evaluator = Callable[[Facts], "Sequence[Observation] | None"]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    severity: Severity
    title: str
    explanation: str
    # Steps in SendGrid's UI, in order.
    fix: tuple[str, ...]
    needs: tuple[Fact[Any], ...]
    evaluate: Evaluator
    thresholds: tuple[Threshold, ...] = ()

    def default(self, name: str) -> int:
        for threshold in self.thresholds:
            if threshold.name == name:
                return threshold.default
        raise KeyError(f"rule {self.id} has no threshold {name!r}")

    def finding_title(self, observation: Observation) -> str:
        return f"{self.title}: {observation.subject_label}"[:300]


@dataclass(frozen=True, slots=True)
class Finding:
    """A stored finding as readers see it (with its integration's name)."""

    id: int
    integration_id: int
    integration: str
    rule: str
    subject_key: str
    subject_label: str
    severity: str
    status: str
    title: str
    evidence: Mapping[str, Any]
    first_seen: dt.datetime
    last_seen: dt.datetime
    resolved_at: dt.datetime | None
    snoozed_until: dt.datetime | None
    episode: int
    episode_opened_at: dt.datetime
    status_changed_at: dt.datetime
    status_by: str | None
    status_reason: str | None


@dataclass(frozen=True, slots=True)
class FindingEvent:
    id: int
    episode: int
    kind: str
    # An SMP user's name, "command line", or None for SMP's own evaluation.
    actor: str | None
    reason: str | None
    snoozed_until: dt.datetime | None
    occurred_at: dt.datetime


@dataclass(frozen=True, slots=True)
class PostureScore:
    evaluated_at: dt.datetime
    score: int
    high: int
    medium: int
    low: int
