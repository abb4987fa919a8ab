"""Findings' use cases, shared by `smp findings`, `/api/v1/findings` and the web.

Reads: findings filtered and paged, one finding with its events and its
rule's explanation and fix, the thresholds, an integration's posture trend.
Writes: accept or snooze a finding (a written reason; a snooze date in the
future), and set or clear a threshold. docs/findings.md has the lifecycle.

Refusals (`Refused`): an unknown finding or integration is `not_found`; a
finding that is resolved cannot be accepted or snoozed (`conflict`); an
empty reason, a snooze date not in the future, an unknown rule or threshold
and a value out of the threshold's range are `invalid`, about their field.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from smp.model.findings import (
    Finding,
    FindingEvent,
    FindingStatus,
    PostureScore,
    Rule,
    Severity,
    Threshold,
)
from smp.model.rules_registry import BY_ID, RULES
from smp.sendgrid.keys import contains_key
from smp.services.audit import Actor, cli_actor, record
from smp.services.input_rules import KEY_IN_TEXT, MAX_ID
from smp.services.refusals import Refused, refusing
from smp.storage import finding_queries as queries
from smp.storage import get_integration, list_integrations, read_session
from smp.storage.findings import Evaluation, evaluate_findings, one_at_a_time

__all__ = [
    "COMMAND_LINE",
    "Evaluation",
    "FindingDetail",
    "FindingsPage",
    "ThresholdView",
    "accept_finding",
    "evaluate_findings",
    "event_json",
    "finding_detail",
    "finding_json",
    "integration_id",
    "list_findings",
    "list_thresholds",
    "posture_trend",
    "set_threshold",
    "snooze_finding",
]

# The actor the CLI records, as `smp people link` does for links.
COMMAND_LINE = "command line"
MAX_REASON = 1000
# A snooze is a decision to look again: a year at most.
MAX_SNOOZE = dt.timedelta(days=366)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class FindingsPage:
    items: tuple[Finding, ...]
    total: int


@dataclass(frozen=True, slots=True)
class FindingDetail:
    finding: Finding
    events: tuple[FindingEvent, ...]
    # None for a finding of a rule SMP no longer has.
    rule: Rule | None


@dataclass(frozen=True, slots=True)
class ThresholdView:
    rule: str
    threshold: Threshold
    # The global value set in SMP (None: the built-in default applies).
    global_value: int | None
    # Integration name -> its value.
    overrides: dict[str, int]


def _finding_id(finding_id: str | int) -> int:
    text = str(finding_id).strip()
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= MAX_ID:
        raise Refused(f"no finding {str(finding_id)!r}", kind="not_found")
    return int(text)


def _integration_id(session: Any, integration: str) -> int:
    digits = integration.strip()
    if digits.isascii() and digits.isdigit() and int(digits) > MAX_ID:
        raise Refused(f"no integration {integration!r}", kind="not_found")
    return get_integration(session, integration).id


def integration_id(engine: Engine, integration: str) -> int:
    """The id of an integration given by name or id (unknown: not_found)."""
    with refusing(), read_session(engine) as session:
        return _integration_id(session, integration)


def list_findings(
    engine: Engine,
    *,
    integration: str | None = None,
    severities: Sequence[Severity] = (),
    status: FindingStatus | None = None,
    rule: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> FindingsPage:
    """Findings, most severe first. `integration` is a name or an id."""
    with refusing(), read_session(engine) as session:
        integration_id = None
        if integration is not None:
            integration_id = _integration_id(session, integration)
        items, total = queries.page_findings(
            session,
            integration_id=integration_id,
            severities=[s.value for s in severities],
            status=None if status is None else status.value,
            rule=rule,
            limit=limit,
            offset=offset,
        )
    return FindingsPage(tuple(items), total)


def finding_detail(engine: Engine, finding_id: str | int) -> FindingDetail:
    number = _finding_id(finding_id)
    with refusing(), read_session(engine) as session:
        finding = queries.get_finding(session, number)
        events = queries.finding_events(session, number)
    return FindingDetail(finding, tuple(events), BY_ID.get(finding.rule))


def _reason(reason: str) -> str:
    cleaned = reason.strip()
    if not cleaned:
        raise Refused("a reason is required: say why", field="reason")
    if len(cleaned) > MAX_REASON:
        raise Refused(
            f"the reason is longer than {MAX_REASON} characters", field="reason"
        )
    if _CONTROL.search(cleaned):
        raise Refused("the reason holds control characters", field="reason")
    if contains_key(cleaned):
        raise Refused(KEY_IN_TEXT, field="reason")
    return cleaned


def snooze_end(until: dt.date | dt.datetime) -> dt.datetime:
    """A date means its first moment in UTC; a naive time is taken as UTC."""
    if isinstance(until, dt.datetime):
        return until if until.tzinfo else until.replace(tzinfo=dt.UTC)
    return dt.datetime.combine(until, dt.time(), tzinfo=dt.UTC)


def _decide(
    engine: Engine,
    finding_id: str | int,
    status: FindingStatus,
    *,
    reason: str,
    actor: str,
    now: dt.datetime,
    until: dt.datetime | None = None,
    audit_as: Actor | None = None,
) -> FindingDetail:
    number = _finding_id(finding_id)
    cleaned = _reason(reason)
    # The evaluation's lock: a decision is never overwritten by an evaluation
    # that read the finding before it.
    with refusing(), one_at_a_time(engine) as session:
        if queries.finding_status(session, number) == FindingStatus.RESOLVED:
            raise Refused(
                f"finding {number} is resolved: its condition has ended, "
                f"there is nothing to {'snooze' if until else 'accept'}",
                kind="conflict",
            )
        queries.decide(
            session,
            number,
            status=status,
            reason=cleaned,
            actor=actor,
            now=now,
            snoozed_until=until,
        )
        details = {"reason": cleaned, **({"until": until} if until else {})}
        action = f"finding.{'snooze' if until else 'accept'}"
        record(session, _by(actor, audit_as), action, f"finding {number}", details)
    return finding_detail(engine, number)


def _by(actor: str, audit_as: Actor | None) -> Actor:
    return audit_as or (
        cli_actor() if actor == COMMAND_LINE else Actor(actor, "unknown")
    )


def accept_finding(
    engine: Engine,
    finding_id: str | int,
    *,
    reason: str,
    actor: str,
    now: dt.datetime,
    audit_as: Actor | None = None,
) -> FindingDetail:
    """Accepted while its condition holds (docs/findings.md)."""
    return _decide(
        engine,
        finding_id,
        FindingStatus.ACCEPTED,
        reason=reason,
        actor=actor,
        now=now,
        audit_as=audit_as,
    )


def snooze_finding(
    engine: Engine,
    finding_id: str | int,
    *,
    reason: str,
    until: dt.date | dt.datetime,
    actor: str,
    now: dt.datetime,
    audit_as: Actor | None = None,
) -> FindingDetail:
    """Snoozed until `until` (a date: 00:00 UTC), which must be in the future."""
    end = snooze_end(until)
    if end <= now:
        raise Refused(
            f"the snooze date {end.date().isoformat()} is not in the future",
            field="until",
        )
    if end - now > MAX_SNOOZE:
        raise Refused("a snooze lasts a year at most", field="until")
    return _decide(
        engine,
        finding_id,
        FindingStatus.SNOOZED,
        reason=reason,
        actor=actor,
        now=now,
        until=end,
        audit_as=audit_as,
    )


def threshold_of(rule_id: str, name: str) -> Threshold:
    """The rule's threshold called `name` (its range and unit), or Refused."""
    rule = BY_ID.get(rule_id)
    if rule is None:
        raise Refused(f"no rule {rule_id!r}", field="rule")
    for threshold in rule.thresholds:
        if threshold.name == name:
            return threshold
    known = ", ".join(t.name for t in rule.thresholds) or "none"
    raise Refused(
        f"rule {rule_id} has no threshold {name!r} (it has: {known})", field="name"
    )


def set_threshold(
    engine: Engine,
    *,
    rule: str,
    name: str,
    value: int | None,
    integration: str | None,
    actor: str,
    now: dt.datetime,
    audit_as: Actor | None = None,
) -> None:
    """Set (or with None clear) a threshold globally or for one integration.
    Takes effect at the next evaluation."""
    threshold = threshold_of(rule, name)
    if value is not None and not threshold.minimum <= value <= threshold.maximum:
        raise Refused(
            f"{rule}.{name} must be from {threshold.minimum} to "
            f"{threshold.maximum} {threshold.unit}, not {value}",
            field="value",
        )
    with refusing(), one_at_a_time(engine) as session:
        integration_id = None
        if integration is not None:
            integration_id = _integration_id(session, integration)
        queries.save_threshold(
            session,
            rule=rule,
            name=name,
            value=value,
            integration_id=integration_id,
            actor=actor,
            now=now,
        )
        details = {"value": value, "integration": integration}
        by = _by(actor, audit_as)
        record(session, by, "threshold.set", f"{rule}.{name}", details)


def list_thresholds(engine: Engine) -> list[ThresholdView]:
    with read_session(engine) as session:
        defaults, overrides = queries.stored_thresholds(session)
        names = {i.id: i.name for i in list_integrations(session)}
    views = []
    for rule in RULES:
        for threshold in rule.thresholds:
            views.append(
                ThresholdView(
                    rule=rule.id,
                    threshold=threshold,
                    global_value=defaults.get((rule.id, threshold.name)),
                    overrides={
                        names[i]: v
                        for (i, r, n), v in sorted(overrides.items())
                        if r == rule.id and n == threshold.name and i in names
                    },
                )
            )
    return views


def posture_trend(
    engine: Engine, integration: str, *, limit: int = 30
) -> list[PostureScore]:
    """The integration's latest posture scores, the newest first."""
    with refusing(), read_session(engine) as session:
        return queries.posture_history(
            session, _integration_id(session, integration), limit=limit
        )


def posture_trends(
    engine: Engine, integration_ids: Sequence[int], *, limit: int = 30
) -> dict[int, list[PostureScore]]:
    """Several integrations' latest scores (the newest first) in one query:
    the integrations page shows a card each. Empty for one never scored."""
    with read_session(engine) as session:
        found = queries.posture_histories(session, integration_ids, limit=limit)
    return {i: found.get(i, []) for i in integration_ids}


def _when(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def finding_json(finding: Finding) -> dict[str, Any]:
    """The CLI's and the issue's shape, key by key."""
    return {
        "id": finding.id,
        "integration": finding.integration,
        "rule": finding.rule,
        "severity": finding.severity,
        "status": finding.status,
        "title": finding.title,
        "subject": finding.subject_label,
        "first_seen": _when(finding.first_seen),
        "resolved_at": _when(finding.resolved_at),
        "evidence": dict(finding.evidence),
    }


def event_json(event: FindingEvent) -> dict[str, Any]:
    return {
        "kind": event.kind,
        "episode": event.episode,
        "actor": event.actor,
        "reason": event.reason,
        "snoozed_until": _when(event.snoozed_until),
        "occurred_at": _when(event.occurred_at),
    }
