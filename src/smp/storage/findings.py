"""Findings in the database: evaluation of every rule, and the lifecycle.

`evaluate_findings` runs the rules (smp.model.rules_registry) over facts
loaded in bulk (smp.storage.finding_facts) and reconciles them with the stored
findings in one transaction: new ones open, ended ones resolve, returned ones
reopen as a new episode, snoozes that ran out open again; every change appends
a `finding_events` row and each evaluated integration gets a posture score.
docs/findings.md describes the lifecycle.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Engine, Table, insert, select, text, update
from sqlalchemy.orm import Session

from smp.model.findings import (
    LIVE_STATUSES,
    Facts,
    FindingEventKind,
    FindingStatus,
    Observation,
    Rule,
    Severity,
    posture_score,
)
from smp.model.rules_registry import RULES
from smp.storage.finding_facts import LOADERS, Scope
from smp.storage.finding_writes import insert_rows, mark_seen
from smp.storage.tables import (
    FindingEventRow,
    FindingRow,
    FindingThresholdDefaultRow,
    FindingThresholdOverrideRow,
    IntegrationRow,
    PostureScoreRow,
)

Thresholds = dict[str, dict[str, int]]
_Key = tuple[int, str, str]  # integration id, rule id, subject key


@dataclass(slots=True)
class Evaluation:
    """What one evaluation changed, counted (for logs and tests)."""

    integrations: int = 0
    opened: int = 0
    reopened: int = 0
    resolved: int = 0
    unsnoozed: int = 0
    scores: dict[int, int] = field(default_factory=dict)


@contextmanager
def one_at_a_time(engine: Engine) -> Iterator[Session]:
    """A transaction no other evaluation runs beside: a sync may end while a
    directory change evaluates every integration (PostgreSQL; SQLite has one
    writer anyway)."""
    with Session(engine) as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            # Keyed by schema, like the reclassification's lock: two SMPs in
            # one database do not wait for each other.
            session.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || :n))"),
                {"n": "smp.findings.evaluate"},
            )
        yield session


def load_thresholds(
    session: Session, integration_ids: Sequence[int]
) -> dict[int, Thresholds]:
    """Each integration's thresholds: its overrides over the global values.
    Built-in defaults are the rule's (Facts.threshold falls back to them)."""
    defaults: Thresholds = defaultdict(dict)
    for rule, name, value in session.execute(
        select(
            FindingThresholdDefaultRow.rule,
            FindingThresholdDefaultRow.name,
            FindingThresholdDefaultRow.value,
        )
    ):
        defaults[rule][name] = value
    result = {iid: {r: dict(v) for r, v in defaults.items()} for iid in integration_ids}
    o = FindingThresholdOverrideRow
    for iid, rule, name, value in session.execute(
        select(o.integration_id, o.rule, o.name, o.value)
    ):
        if iid in result:
            result[iid].setdefault(rule, {})[name] = value
    return result


def _observe(
    session: Session, scope: Scope, rules: Sequence[Rule]
) -> tuple[dict[_Key, tuple[Rule, Observation]], set[tuple[int, str]]]:
    """Every rule's observations per integration, and the (integration, rule)
    pairs a rule could not tell about."""
    thresholds = load_thresholds(session, scope.ids)
    needed = {fact.name for rule in rules for fact in rule.needs}
    loaded = {name: LOADERS[name].load(session, scope) for name in sorted(needed)}
    observed: dict[_Key, tuple[Rule, Observation]] = {}
    unknown: set[tuple[int, str]] = set()
    for iid in scope.ids:
        values = {
            name: found[iid] if iid in found else LOADERS[name].default()
            for name, found in loaded.items()
        }
        facts = Facts(iid, scope.now, values, thresholds.get(iid, {}))
        for rule in rules:
            result = rule.evaluate(facts)
            if result is None:
                unknown.add((iid, rule.id))
                continue
            for observation in result:
                observed[(iid, rule.id, observation.subject_key)] = (rule, observation)
    return observed, unknown


_STORED = (
    FindingRow.id,
    FindingRow.integration_id,
    FindingRow.rule,
    FindingRow.subject_key,
    FindingRow.subject_label,
    FindingRow.severity,
    FindingRow.status,
    FindingRow.title,
    FindingRow.evidence,
    FindingRow.resolved_at,
    FindingRow.snoozed_until,
    FindingRow.episode,
    FindingRow.episode_opened_at,
    FindingRow.status_changed_at,
    FindingRow.status_by,
    FindingRow.status_reason,
)


def _event(
    row: dict[str, Any], kind: FindingEventKind, now: dt.datetime
) -> dict[str, Any]:
    return {
        "finding_id": row["id"],
        "integration_id": row["integration_id"],
        "episode": row["episode"],
        "kind": kind.value,
        "actor": None,
        "reason": None,
        "snoozed_until": None,
        "occurred_at": now,
    }


def _status(row: dict[str, Any], status: FindingStatus, now: dt.datetime) -> None:
    """SMP itself changes the status: no person, no reason."""
    row.update(
        status=status.value,
        status_changed_at=now,
        status_by=None,
        status_reason=None,
        snoozed_until=None,
    )


def evaluate_findings(
    engine: Engine,
    *,
    now: dt.datetime,
    integration_ids: Sequence[int] | None = None,
    rules: Sequence[Rule] = RULES,
) -> Evaluation:
    """Evaluate `rules` for the integrations (every one when None) at `now`."""
    summary = Evaluation()
    with one_at_a_time(engine) as session:
        query = select(IntegrationRow.id).order_by(IntegrationRow.id)
        if integration_ids is not None:
            query = query.where(IntegrationRow.id.in_(list(integration_ids)))
        ids = list(session.scalars(query))
        if not ids:
            return summary
        scope = Scope(ids=ids, everything=integration_ids is None, now=now)
        observed, unknown = _observe(session, scope, rules)
        changes = _Changes(now, summary, {iid: Counter() for iid in ids})
        evaluated = {rule.id for rule in rules}
        stored = session.execute(
            select(*_STORED).where(scope.where(FindingRow.integration_id))
        )
        for found in stored:
            row = dict(found._mapping)
            key = (row["integration_id"], row["rule"], row["subject_key"])
            hit = observed.pop(key, None)
            if hit is not None:
                changes.seen(row, *hit)
            elif (
                row["rule"] in evaluated
                and (row["integration_id"], row["rule"]) not in unknown
                and row["status"] in LIVE_STATUSES
            ):
                changes.resolve(row)
            changes.count(row)
        if changes.updates:
            session.execute(update(FindingRow), changes.updates)
        mark_seen(session, changes.seen_ids, now)
        _open(session, scope, observed, changes)
        insert_rows(session, _table(FindingEventRow), changes.events)
        _score(session, changes)
        summary.integrations = len(ids)
    return summary


def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


@dataclass(slots=True)
class _Changes:
    """What an evaluation writes, gathered while it walks the stored findings."""

    now: dt.datetime
    summary: Evaluation
    open_counts: dict[int, Counter[str]]
    # Whole rows that changed, and ids of findings only seen again.
    updates: list[dict[str, Any]] = field(default_factory=list)
    seen_ids: list[int] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def count(self, row: dict[str, Any]) -> None:
        if row["status"] == FindingStatus.OPEN:
            self.open_counts[row["integration_id"]][row["severity"]] += 1

    def event(self, row: dict[str, Any], kind: FindingEventKind) -> None:
        self.events.append(_event(row, kind, self.now))

    def resolve(self, row: dict[str, Any]) -> None:
        _status(row, FindingStatus.RESOLVED, self.now)
        row["resolved_at"] = self.now
        self.event(row, FindingEventKind.RESOLVED)
        self.summary.resolved += 1
        self.updates.append(row)

    def seen(self, row: dict[str, Any], rule: Rule, observation: Observation) -> None:
        """A stored finding whose condition holds now: refreshed, and reopened
        or unsnoozed when it has to be."""
        now = self.now
        fresh = {
            "subject_label": observation.subject_label[:320],
            "title": rule.finding_title(observation),
            "severity": rule.severity.value,
            "evidence": dict(observation.evidence),
        }
        changed = any(row[name] != value for name, value in fresh.items())
        row.update(fresh, last_seen=now)
        if row["status"] == FindingStatus.RESOLVED:
            _status(row, FindingStatus.OPEN, now)
            row.update(
                episode=row["episode"] + 1, episode_opened_at=now, resolved_at=None
            )
            self.event(row, FindingEventKind.REOPENED)
            self.summary.reopened += 1
            changed = True
        elif row["status"] == FindingStatus.SNOOZED and (
            row["snoozed_until"] is None or row["snoozed_until"] <= now
        ):
            _status(row, FindingStatus.OPEN, now)
            self.event(row, FindingEventKind.UNSNOOZED)
            self.summary.unsnoozed += 1
            changed = True
        if changed:
            self.updates.append(row)
        else:
            self.seen_ids.append(row["id"])


def _open(
    session: Session,
    scope: Scope,
    observed: dict[_Key, tuple[Rule, Observation]],
    changes: _Changes,
) -> None:
    """Insert the findings seen for the first time, then their `opened` events
    (their ids read back: COPY returns none)."""
    if not observed:
        return
    now = changes.now
    new = {key: _new_row(key, *hit, now) for key, hit in observed.items()}
    insert_rows(session, _table(FindingRow), list(new.values()))
    f = FindingRow
    for finding_id, *key in session.execute(
        select(f.id, f.integration_id, f.rule, f.subject_key).where(
            scope.where(f.integration_id), f.first_seen == now, f.episode == 1
        )
    ):
        row = new.get(tuple(key))  # type: ignore[arg-type]
        if row is not None:
            row["id"] = finding_id
            changes.event(row, FindingEventKind.OPENED)
            changes.count(row)
    changes.summary.opened += len(new)


def _score(session: Session, changes: _Changes) -> None:
    scores = []
    for iid, counts in changes.open_counts.items():
        score = posture_score(counts)
        changes.summary.scores[iid] = score
        scores.append(
            {
                "integration_id": iid,
                "evaluated_at": changes.now,
                "score": score,
                "high": counts[Severity.HIGH],
                "medium": counts[Severity.MEDIUM],
                "low": counts[Severity.LOW],
            }
        )
    session.execute(insert(PostureScoreRow), scores)


def _new_row(
    key: _Key, rule: Rule, observation: Observation, now: dt.datetime
) -> dict[str, Any]:
    iid, rule_id, subject_key = key
    return {
        "integration_id": iid,
        "rule": rule_id,
        "subject_key": subject_key,
        "subject_label": observation.subject_label[:320],
        "severity": rule.severity.value,
        "status": FindingStatus.OPEN.value,
        "title": rule.finding_title(observation),
        "evidence": dict(observation.evidence),
        "first_seen": now,
        "last_seen": now,
        "resolved_at": None,
        "snoozed_until": None,
        "episode": 1,
        "episode_opened_at": now,
        "status_changed_at": now,
        "status_by": None,
        "status_reason": None,
    }
