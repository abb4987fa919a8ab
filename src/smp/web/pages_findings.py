"""Findings: the filtered list, one finding's evidence and fix, and the decisions.

Everyone signed in reads; only an admin accepts or snoozes a finding (viewers
see no form, and their POST is refused like every admin-only form). The
rules and the lifecycle are in docs/findings.md.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from smp.model.findings import SCORE_WEIGHTS, FindingStatus, PostureScore, Severity
from smp.model.rules_registry import BY_ID, RULES
from smp.services import audit, findings, refusals
from smp.services.input_rules import MAX_ID
from smp.storage import list_integrations, read_session
from smp.web.deps import PagesDep
from smp.web.flash import redirect_saying
from smp.web.forms import FormText, page_number
from smp.web.session import Refused, SignedIn, SignedInUser, check_csrf, require_admin

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
# The status filter's value for "every status"; no filter at all means open,
# what needs action.
ANY_STATUS = "any"
STATUSES = {
    FindingStatus.OPEN.value: "open",
    FindingStatus.SNOOZED.value: "snoozed",
    FindingStatus.ACCEPTED.value: "accepted",
    FindingStatus.RESOLVED.value: "resolved",
    ANY_STATUS: "any status",
}
SEVERITIES = [s.value for s in Severity]
# Scores on an integration card's sparkline (one per evaluation, newest last).
TREND_POINTS = 30

Text = Annotated[str, Query(max_length=4096)]


@dataclass(frozen=True, slots=True)
class FindingsQuery:
    integration: int | None = None
    severity: str = ""
    status: str = FindingStatus.OPEN.value
    rule: str = ""
    page: int = 1

    def url(self, **changed: object) -> str:
        """This list's address with some filters changed (the page back to 1)."""
        values: dict[str, object] = {
            "integration": self.integration or "",
            "severity": self.severity,
            "status": self.status,
            "rule": self.rule,
            "page": 1,
        }
        values.update(changed)
        page = values.pop("page")
        query = "&".join(f"{k}={v}" for k, v in values.items())
        return f"/findings?{query}" + (f"&page={page}" if page != 1 else "")


def _page_number(page: str) -> int:
    return page_number(page)


def _findings_query(
    integration: str, severity: str, status: str, rule: str, page: str
) -> FindingsQuery:
    if integration and not (integration.isascii() and integration.isdigit()):
        raise Refused(400, "Choose the integration from the list.")
    chosen = int(integration) if integration else None
    if chosen is not None and not 0 < chosen <= MAX_ID:
        raise Refused(404, "There is no such integration.")
    if severity and severity not in SEVERITIES:
        raise Refused(400, "That severity does not exist.")
    if status not in STATUSES:
        raise Refused(400, "That status does not exist.")
    if rule and rule not in BY_ID:
        raise Refused(400, "That rule does not exist.")
    return FindingsQuery(chosen, severity, status, rule, _page_number(page))


def _list(
    who: SignedIn, query: FindingsQuery, severities: list[Severity], limit: int
) -> findings.FindingsPage:
    try:
        return findings.list_findings(
            who.state.engine,
            integration=None if query.integration is None else str(query.integration),
            severities=severities,
            status=None if query.status == ANY_STATUS else FindingStatus(query.status),
            rule=query.rule or None,
            limit=limit,
            offset=(query.page - 1) * PAGE_SIZE,
        )
    except refusals.Refused:
        raise Refused(404, "There is no such integration.") from None


@router.get("/findings")
def findings_page(
    request: Request,
    who: SignedInUser,
    pages: PagesDep,
    integration: Text = "",
    severity: Text = "",
    status: Text = FindingStatus.OPEN.value,
    rule: Text = "",
    page: Text = "1",
) -> Response:
    query = _findings_query(integration, severity, status, rule, page)
    chosen = [Severity(query.severity)] if query.severity else []
    found = _list(who, query, chosen, PAGE_SIZE)
    # Each severity's count under the other filters, as the Accounts page does.
    unpaged = FindingsQuery(query.integration, "", query.status, query.rule)
    counts = {s.value: _list(who, unpaged, [s], 0).total for s in Severity}
    with read_session(who.state.engine) as session:
        integrations = list_integrations(session)
    return pages.render(
        request,
        "findings.html",
        who,
        findings=found.items,
        total=found.total,
        pages=max(1, -(-found.total // PAGE_SIZE)),
        query=query,
        counts=counts,
        severities=SEVERITIES,
        statuses=STATUSES,
        rules=RULES,
        integrations=integrations,
    )


def evidence_rows(evidence: Mapping[str, Any]) -> list[tuple[str, str | list[str]]]:
    """The evidence as (label, value) pairs; a list stays a list of lines."""
    rows: list[tuple[str, str | list[str]]] = []
    for key, value in evidence.items():
        label = str(key).replace("_", " ")
        if isinstance(value, list | tuple):
            rows.append((label, [_plain(v) for v in value] or ["none"]))
        else:
            rows.append((label, _plain(value)))
    return rows


def _plain(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return "; ".join(
            f"{str(k).replace('_', ' ')}: {_plain(v)}" for k, v in value.items()
        )
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, str | int | float):
        return str(value)
    return json.dumps(value, default=str)


def _detail(who: SignedIn, finding_id: int) -> findings.FindingDetail:
    try:
        return findings.finding_detail(who.state.engine, finding_id)
    except refusals.Refused:
        raise Refused(404, "There is no such finding.") from None


def _finding_page(
    request: Request,
    who: SignedIn,
    pages: PagesDep,
    finding_id: int,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    **shown: object,
) -> Response:
    detail = _detail(who, finding_id)
    shown.setdefault("accept_reason", "")
    shown.setdefault("snooze_reason", "")
    shown.setdefault("until", "")
    today = who.state.context.now().date()
    return pages.render(
        request,
        "finding.html",
        who,
        status=status,
        detail=detail,
        f=detail.finding,
        evidence=evidence_rows(detail.finding.evidence),
        errors=errors or {},
        earliest=(today + dt.timedelta(days=1)).isoformat(),
        latest=(today + findings.MAX_SNOOZE).isoformat(),
        **shown,
    )


@router.get("/findings/{finding_id:int}")
def finding_page(
    finding_id: int, request: Request, who: SignedInUser, pages: PagesDep
) -> Response:
    return _finding_page(request, who, pages, finding_id)


def _refused_on_form(
    request: Request,
    who: SignedIn,
    pages: PagesDep,
    finding_id: int,
    error: refusals.Refused,
    form: str,
    **shown: object,
) -> Response:
    if error.kind == "not_found":
        raise Refused(404, "There is no such finding.")
    # The reason field of this form, or the date; a conflict is the form's.
    field = {"reason": f"{form}_reason", "until": "until"}.get(error.field or "", form)
    return _finding_page(
        request,
        who,
        pages,
        finding_id,
        status=error.http_status,
        errors={field: str(error)},
        **shown,
    )


def _decide(
    request: Request,
    who: SignedIn,
    pages: PagesDep,
    finding_id: int,
    form: str,
    decision: Callable[[], str],
    **shown: object,
) -> Response:
    """Run an admin's decision; its refusal shows beside the field, else the
    finding's page says what was done (`decision` returns those words)."""
    require_admin(who)
    try:
        done = decision()
    except refusals.Refused as error:
        return _refused_on_form(request, who, pages, finding_id, error, form, **shown)
    return redirect_saying(f"/findings/{finding_id}", request, who, done)


@router.post("/findings/{finding_id:int}/accept")
def accept(
    finding_id: int,
    request: Request,
    who: SignedInUser,
    pages: PagesDep,
    reason: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    check_csrf(who.csrf, csrf_token)

    def decision() -> str:
        findings.accept_finding(
            who.state.engine,
            finding_id,
            reason=reason,
            actor=who.user.name,
            now=who.state.context.now(),
            audit_as=audit.request_actor(who.user.name, request),
        )
        return f"Accepted finding {finding_id}."

    return _decide(
        request, who, pages, finding_id, "accept", decision, accept_reason=reason
    )


def _snooze_date(until: str) -> dt.date:
    try:
        return dt.date.fromisoformat(until.strip())
    except ValueError:
        raise refusals.Refused(
            "give the date as YYYY-MM-DD, e.g. 2027-01-31", field="until"
        ) from None


@router.post("/findings/{finding_id:int}/snooze")
def snooze(
    finding_id: int,
    request: Request,
    who: SignedInUser,
    pages: PagesDep,
    reason: FormText = "",
    until: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    check_csrf(who.csrf, csrf_token)

    def decision() -> str:
        day = _snooze_date(until)
        findings.snooze_finding(
            who.state.engine,
            finding_id,
            reason=reason,
            until=day,
            actor=who.user.name,
            now=who.state.context.now(),
            audit_as=audit.request_actor(who.user.name, request),
        )
        return f"Snoozed finding {finding_id} until {day.isoformat()}."

    return _decide(
        request,
        who,
        pages,
        finding_id,
        "snooze",
        decision,
        snooze_reason=reason,
        until=until[:10],
    )


@dataclass(frozen=True, slots=True)
class Posture:
    """What an integration card says about the posture score."""

    latest: PostureScore | None
    # The scores drawn, oldest first.
    scores: tuple[PostureScore, ...]

    @property
    def rule(self) -> str:
        """How the score is counted, in words, from the model's weights."""
        weight = SCORE_WEIGHTS
        return (
            f"100 minus {weight[Severity.HIGH]} per open high finding, "
            f"{weight[Severity.MEDIUM]} per medium and {weight[Severity.LOW]} per low"
        )

    @property
    def change(self) -> int:
        """Points gained (negative: lost) since the oldest score drawn."""
        return self.scores[-1].score - self.scores[0].score if self.scores else 0

    @property
    def since(self) -> dt.datetime | None:
        return self.scores[0].evaluated_at if len(self.scores) > 1 else None

    def sparkline(self, width: int = 120, height: int = 24) -> str:
        """SVG polyline points: x evenly spaced, y from 0 (bottom) to 100 (top)."""
        if len(self.scores) < 2:
            return ""
        step = width / (len(self.scores) - 1)
        return " ".join(
            f"{i * step:.1f},{height - s.score * height / 100:.1f}"
            for i, s in enumerate(self.scores)
        )


def posture_cards(who: SignedIn, integration_ids: list[int]) -> dict[int, Posture]:
    """Each integration's latest score and its recent trend (the cards' figures)."""
    trends = findings.posture_trends(
        who.state.engine, integration_ids, limit=TREND_POINTS
    )
    cards = {}
    for integration_id, newest_first in trends.items():
        scores = tuple(reversed(newest_first))
        cards[integration_id] = Posture(scores[-1] if scores else None, scores)
    return cards
