"""`/findings`, `/finding-thresholds` and `/integrations/{id}/posture`.

Everyone signed in reads; only admins accept, snooze or set thresholds (403
for viewers). docs/findings.md has the rules and the lifecycle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Query

from smp.api.acting import Acting
from smp.api.auth import AdminUser, CurrentUser, State
from smp.api.finding_schemas import (
    AcceptIn,
    FindingDetailOut,
    FindingOut,
    PostureOut,
    SnoozeIn,
    ThresholdIn,
    ThresholdOut,
)
from smp.api.params import IdPath, IntegrationPath, Limit, Offset
from smp.api.problems import problem_responses
from smp.api.refusals import problem
from smp.api.schemas import Page
from smp.model.findings import FindingStatus, Severity
from smp.services import findings
from smp.services.findings import FindingDetail
from smp.services.input_rules import MAX_ID, PRINTABLE
from smp.services.refusals import Refused

router = APIRouter(tags=["findings"])
T = TypeVar("T")

NamePath = Annotated[str, Path(min_length=1, max_length=64, pattern=PRINTABLE)]


def _answer(use_case: Callable[[], T]) -> T:
    try:
        return use_case()
    except Refused as error:
        raise problem(error) from None


def _detail(detail: FindingDetail) -> FindingDetailOut:
    rule = detail.rule
    body: dict[str, Any] = {
        **findings.finding_json(detail.finding),
        "episode": detail.finding.episode,
        "explanation": None if rule is None else rule.explanation,
        "fix": [] if rule is None else list(rule.fix),
        "events": [findings.event_json(e) for e in detail.events],
    }
    return FindingDetailOut.model_validate(body)


@router.get(
    "/findings",
    summary="List findings, most severe first",
    response_model=Page[FindingOut],
    responses=problem_responses(404),
)
def list_findings(
    state: State,
    _user: CurrentUser,
    integration: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only this integration's (id)")
    ] = None,
    severity: Annotated[
        list[Severity] | None, Query(description="Only these severities (repeat)")
    ] = None,
    status: FindingStatus | None = None,
    rule: Annotated[
        str | None,
        Query(max_length=64, pattern=PRINTABLE, description="Only this rule's (id)"),
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[FindingOut]:
    """Every status unless `status` says one; `open` is what needs action."""
    found = _answer(
        lambda: findings.list_findings(
            state.engine,
            integration=None if integration is None else str(integration),
            severities=severity or (),
            status=status,
            rule=rule,
            limit=limit,
            offset=offset,
        )
    )
    items = [FindingOut.model_validate(findings.finding_json(f)) for f in found.items]
    return Page(items=items, total=found.total, limit=limit, offset=offset)


@router.get(
    "/findings/{finding_id}",
    summary="Show a finding with its fix and its history",
    response_model=FindingDetailOut,
    responses=problem_responses(404),
)
def finding(finding_id: IdPath, state: State, _user: CurrentUser) -> FindingDetailOut:
    """The evidence, the rule's explanation, the steps in SendGrid's UI and
    every change of status with who made it and why."""
    return _detail(_answer(lambda: findings.finding_detail(state.engine, finding_id)))


@router.post(
    "/findings/{finding_id}/accept",
    summary="Accept a finding with a written reason",
    response_model=FindingDetailOut,
    responses=problem_responses(403, 404, 409),
)
def accept(
    finding_id: IdPath, body: AcceptIn, state: State, user: AdminUser, by: Acting
) -> FindingDetailOut:
    """Accepted while its condition holds; when it ends the finding resolves,
    and if it returns it opens again (409: it is resolved already)."""
    return _detail(
        _answer(
            lambda: findings.accept_finding(
                state.engine,
                finding_id,
                reason=body.reason,
                actor=user.name,
                now=state.context.now(),
                audit_as=by,
            )
        )
    )


@router.post(
    "/findings/{finding_id}/snooze",
    summary="Snooze a finding until a date with a written reason",
    response_model=FindingDetailOut,
    responses=problem_responses(403, 404, 409),
)
def snooze(
    finding_id: IdPath, body: SnoozeIn, state: State, user: AdminUser, by: Acting
) -> FindingDetailOut:
    """`until` must be in the future; from 00:00 UTC that day the finding is
    open again if its condition still holds."""
    return _detail(
        _answer(
            lambda: findings.snooze_finding(
                state.engine,
                finding_id,
                reason=body.reason,
                until=body.until,
                actor=user.name,
                now=state.context.now(),
                audit_as=by,
            )
        )
    )


@router.get(
    "/finding-thresholds",
    summary="List every rule's thresholds and their overrides",
    response_model=list[ThresholdOut],
)
def thresholds(state: State, _user: CurrentUser) -> list[ThresholdOut]:
    return [
        ThresholdOut(
            rule=v.rule,
            name=v.threshold.name,
            unit=v.threshold.unit,
            minimum=v.threshold.minimum,
            maximum=v.threshold.maximum,
            default=v.threshold.default,
            global_value=v.global_value,
            overrides=v.overrides,
        )
        for v in findings.list_thresholds(state.engine)
    ]


@router.put(
    "/finding-thresholds/{rule_id}/{threshold}",
    summary="Set or clear a rule's threshold, globally or for one integration",
    response_model=list[ThresholdOut],
    responses=problem_responses(403, 404),
)
def set_threshold(
    rule_id: NamePath,
    threshold: NamePath,
    body: ThresholdIn,
    state: State,
    user: AdminUser,
    by: Acting,
) -> list[ThresholdOut]:
    """Applies from the next evaluation (a sync, or `smp findings evaluate`).
    A value outside the threshold's range is refused (422)."""
    _answer(
        lambda: findings.set_threshold(
            state.engine,
            rule=rule_id,
            name=threshold,
            value=body.value,
            integration=None
            if body.integration_id is None
            else str(body.integration_id),
            actor=user.name,
            now=state.context.now(),
            audit_as=by,
        )
    )
    return thresholds(state, user)


@router.get(
    "/integrations/{integration_id}/posture",
    summary="Show an integration's posture score and its trend",
    response_model=list[PostureOut],
    responses=problem_responses(404),
)
def posture(
    integration_id: IntegrationPath,
    state: State,
    _user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=500, description="Scores to return")] = 30,
) -> list[PostureOut]:
    """The newest first: one score per evaluation (after each sync)."""
    scores = _answer(
        lambda: findings.posture_trend(state.engine, str(integration_id), limit=limit)
    )
    return [
        PostureOut(
            evaluated_at=s.evaluated_at,
            score=s.score,
            high=s.high,
            medium=s.medium,
            low=s.low,
        )
        for s in scores
    ]
