"""The findings' fact about access reviews: decisions still to carry out.

Kept apart from smp.storage.review_remediation, which imports the findings'
thresholds (smp.storage.findings), so that the fact loaders can import this
without a cycle.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from smp.model.rules_reviews import PendingRemediation
from smp.storage.tables import ReviewCampaignRow, ReviewItemRow

# Remediation states a sync still has to check: `overdue` is `pending` past
# the rule's threshold, and is verified in the same way.
UNVERIFIED = ("pending", "overdue")


def unverified(item: type[ReviewItemRow] = ReviewItemRow) -> ColumnElement[bool]:
    return and_(
        item.remediation.in_(UNVERIFIED),
        item.decision.in_(("revoke", "modify")),
        item.decided_at.is_not(None),
    )


def pending_remediations(session: Session, scope: Any) -> Mapping[int, Any]:
    """Per integration of `scope` (smp.storage.finding_facts.Scope), its
    unverified revoke and modify decisions, whatever the campaign's status:
    a signed-off campaign's removals are still checked."""
    i, c = ReviewItemRow, ReviewCampaignRow
    rows = session.execute(
        select(
            i.integration_id,
            i.id,
            i.campaign_id,
            c.name,
            i.account_kind,
            i.account_key,
            i.email,
            i.username,
            i.decision,
            i.new_role,
            i.decided_at,
            # The wait counts from the decision, or from when a sync saw a
            # verified change undone.
            func.coalesce(i.remediation_since, i.decided_at),
        )
        .join(c, c.id == i.campaign_id)
        .where(scope.where(i.integration_id), unverified(i))
        .order_by(i.id)
    )
    found: dict[int, list[PendingRemediation]] = defaultdict(list)
    for integration_id, *rest in rows:
        found[integration_id].append(PendingRemediation(*rest))
    return found
