"""What one sync run did: per capability, per key, and its HTTP traffic."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

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
    # Requests that got an HTTP answer: none means SendGrid was not reached.
    answers: int = 0
    retries: int = 0
    rate_limit_waits: int = 0
    # Capabilities that failed for a passing reason (network, 5xx, 429, the
    # database): a later attempt may succeed, so a queue may retry the sync.
    transient: set[str] = field(default_factory=set)
    # A write failed because of the database (a subset of `transient`).
    database_failed: bool = False
    # Capability -> why no HTTP answer came (the reason, without the endpoint).
    unreachable: dict[str, str] = field(default_factory=dict)
    # Where the integration's requests went, to name the host that did not answer.
    base_url: str | None = None

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
    def unreachable_message(self) -> str | None:
        """One line for a run in which SendGrid answered nothing at all.

        Each key and request fails alike then; one line per request says
        nothing more and buries the host that did not answer. A run in which
        SendGrid answered any request keeps one line per failed kind of data:
        SendGrid was there, and a dropped request is that kind's own failure.
        """
        failed = [
            name
            for name, result in self.capabilities.items()
            if result.outcome is Outcome.FAILED
        ]
        if self.answers or not failed:
            return None
        if any(name not in self.unreachable for name in failed):
            return None
        reasons = sorted({self.unreachable[name] for name in failed})
        url = urlsplit(self.base_url or "")
        named = all(url.netloc in r for r in reasons)
        where = "" if named or not url.netloc else f" at {url.netloc}"
        return (
            f"SendGrid{where} did not answer ({'; '.join(reasons)}): "
            f"{len(failed)} of {len(self.capabilities)} kinds of data not read, "
            "their stored data is kept"
        )

    @property
    def errors(self) -> list[str]:
        message = self.unreachable_message
        if message is not None:
            return [message]
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
            "unreachable": self.unreachable_message,
            "events": self.events,
            "requests": self.requests,
            "retries": self.retries,
            "rate_limit_waits": self.rate_limit_waits,
        }
