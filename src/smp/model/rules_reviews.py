"""Access reviews' remediation: what to change in SendGrid, and the rule that
flags a revoke or modify decision SendGrid still does not reflect.

SMP only reads SendGrid, so a reviewer's "revoke" changes nothing by itself:
someone has to remove the account in SendGrid's UI. `checklist` says what to
do there; later syncs check it was done (smp.storage.review_remediation), and
`STILL_PRESENT` opens a finding when it was not, N days after the decision
(or after a sync saw a verified change undone: the account back, the role
changed again).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from smp.model.findings import Fact, Facts, Observation, Rule, Severity, Threshold
from smp.model.reviews import ReviewItem

# SMP's roles as SendGrid's teammate editor names the access levels.
_ACCESS = {"admin": "Admin", "user": "Restricted Access", "owner": "owner"}


def checklist(
    *,
    kind: str,
    decision: str | None,
    email: str | None,
    username: str | None,
    new_role: str | None,
) -> tuple[str, ...]:
    """The steps in SendGrid's UI a decision asks for; none for keep/undecided.

    The wording follows SendGrid's menus (Settings → Teammates, Settings →
    Subuser Management), as the other rules' fix steps do.
    """
    who = email or username or "the account"
    if decision == "revoke":
        if kind == "subuser":
            return (
                "In SendGrid, open Settings → Subuser Management.",
                f"Select the subuser {username or who} and delete it "
                "(or disable it, if its data must be kept).",
            )
        if kind == "invite":
            return (
                "In SendGrid, open Settings → Teammates → Pending invites.",
                f"Remove the invite to {who}.",
            )
        return (
            "In SendGrid, open Settings → Teammates.",
            f"Find {who} and choose Delete, then confirm.",
        )
    if decision == "modify":
        role = _ACCESS.get(new_role or "", new_role or "the decided role")
        if kind == "invite":
            return (
                "In SendGrid, open Settings → Teammates → Pending invites.",
                f"Remove the invite to {who} and invite them again as {role}.",
            )
        return (
            "In SendGrid, open Settings → Teammates.",
            f"Choose Edit for {who} and change their access to {role}.",
        )
    return ()


def remediation_steps(item: ReviewItem) -> tuple[str, ...]:
    """`checklist` for a stored item."""
    return checklist(
        kind=item.account_kind,
        decision=None if item.decision is None else item.decision.value,
        email=item.email,
        username=item.username,
        new_role=item.new_role,
    )


@dataclass(frozen=True, slots=True)
class PendingRemediation:
    """A revoke or modify decision no sync has seen carried out yet."""

    item_id: int
    campaign_id: int
    campaign: str
    kind: str  # teammate | invite | subuser
    account_key: str
    email: str | None
    username: str | None
    decision: str  # revoke | modify
    new_role: str | None
    decided_at: dt.datetime
    # The decision's time, or when a sync saw a verified change undone.
    waiting_since: dt.datetime


PENDING_REMEDIATIONS: Fact[Sequence[PendingRemediation]] = Fact("pending_remediations")


def remediations_overdue(facts: Facts) -> list[Observation]:
    days = facts.threshold(STILL_PRESENT, "days")
    observations = []
    for item in facts.get(PENDING_REMEDIATIONS):
        waited = (facts.now - item.waiting_since).days
        if waited < days:
            continue
        observations.append(
            Observation(
                # One finding per decision: the same account may be revoked
                # in two campaigns, and each decision is verified on its own.
                subject_key=f"review_item:{item.item_id}",
                subject_label=item.email or item.username or item.account_key,
                evidence={
                    "campaign": item.campaign,
                    "campaign_id": item.campaign_id,
                    "item_id": item.item_id,
                    "kind": item.kind,
                    "decision": item.decision,
                    "new_role": item.new_role,
                    "decided_at": item.decided_at.isoformat(),
                    "waiting_since": item.waiting_since.isoformat(),
                    "days": waited,
                    "threshold_days": days,
                },
            )
        )
    return observations


STILL_PRESENT = Rule(
    id="review_not_carried_out",
    severity=Severity.HIGH,
    title="Review decision not carried out",
    explanation=(
        "An access review decided to revoke this account or change its role, "
        "and SendGrid's latest sync still shows it unchanged more than the "
        "threshold's days after the decision."
    ),
    fix=(
        "Run `smp reviews items CAMPAIGN --steps` and read the item's "
        "remediation steps.",
        "In SendGrid, open Settings → Teammates (or Settings → Subuser "
        "Management) and delete the account or change its access as decided.",
        "The next sync verifies the change and resolves this finding.",
    ),
    needs=(PENDING_REMEDIATIONS,),
    evaluate=remediations_overdue,
    thresholds=(
        Threshold(
            name="days",
            default=7,
            minimum=0,
            maximum=3650,
            unit="days",
            description="Days a revoke or modify decision may wait to be "
            "carried out in SendGrid.",
        ),
    ),
)
