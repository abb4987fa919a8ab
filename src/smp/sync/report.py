"""What one sync run did: per capability, per key, and its HTTP traffic."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from smp.model import CapabilityResult, Outcome


@dataclass(slots=True)
class SyncReport:
    integration: str
    run_id: int
    capabilities: dict[str, CapabilityResult] = field(default_factory=dict)
    # service account id -> the reason it needs attention
    key_problems: dict[int, str] = field(default_factory=dict)
    # Member events recorded (joined, left, role changed, …).
    events: int = 0
    requests: int = 0
    retries: int = 0
    rate_limit_waits: int = 0
    # Capabilities that failed for a passing reason (network, 5xx, 429, the
    # database): a later attempt may succeed, so a queue may retry the sync.
    transient: set[str] = field(default_factory=set)
    # A write failed because of the database (a subset of `transient`).
    database_failed: bool = False

    @property
    def outcome(self) -> Outcome:
        # An unavailable capability (SendGrid has no such data for the key)
        # does not fail the run.
        outcomes = {r.outcome for r in self.capabilities.values()}
        if Outcome.FAILED in outcomes:
            return Outcome.FAILED
        if outcomes == {Outcome.SKIPPED}:
            return Outcome.SKIPPED
        return Outcome.OK

    @property
    def errors(self) -> list[str]:
        return [
            f"{name}: {result.error}"
            for name, result in self.capabilities.items()
            if result.outcome is Outcome.FAILED and result.error
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "integration": self.integration,
            "run_id": self.run_id,
            "outcome": self.outcome.value,
            "capabilities": {
                name: {
                    "outcome": result.outcome.value,
                    "count": result.count,
                    "error": result.error,
                    "service_account_id": result.service_account_id,
                }
                for name, result in self.capabilities.items()
            },
            "key_problems": {str(k): v for k, v in self.key_problems.items()},
            "events": self.events,
            "requests": self.requests,
            "retries": self.retries,
            "rate_limit_waits": self.rate_limit_waits,
        }
