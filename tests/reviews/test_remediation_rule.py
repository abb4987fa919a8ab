"""The rule and the checklist as plain functions: the threshold decides when a
decision is overdue (its default and a value set per integration), across a
month end; every kind of account gets SendGrid's own menu words."""

from __future__ import annotations

import datetime as dt

import pytest

from smp.model.findings import Facts
from smp.model.rules_registry import BY_ID
from smp.model.rules_reviews import (
    PENDING_REMEDIATIONS,
    STILL_PRESENT,
    PendingRemediation,
    checklist,
)

DECIDED = dt.datetime(2027, 1, 28, 17, 30, tzinfo=dt.UTC)


def _pending(item_id: int, decided_at: dt.datetime) -> PendingRemediation:
    return PendingRemediation(
        item_id=item_id,
        campaign_id=3,
        campaign="Q1",
        kind="teammate",
        account_key="ann@corp.example",
        email="ann@corp.example",
        username="ann",
        decision="revoke",
        new_role=None,
        decided_at=decided_at,
        waiting_since=decided_at,
    )


def _facts(now: dt.datetime, days: int | None = None) -> Facts:
    thresholds = {} if days is None else {STILL_PRESENT.id: {"days": days}}
    values = {PENDING_REMEDIATIONS.name: [_pending(7, DECIDED)]}
    return Facts(1, now, values, thresholds)


@pytest.mark.parametrize(
    ("now", "days", "found"),
    [
        # 6 days 23 hours later, across the end of January: not yet.
        (dt.datetime(2027, 2, 4, 16, 30, tzinfo=dt.UTC), None, False),
        (dt.datetime(2027, 2, 4, 17, 30, tzinfo=dt.UTC), None, True),
        # The integration's own threshold of 10 days.
        (dt.datetime(2027, 2, 4, 17, 30, tzinfo=dt.UTC), 10, False),
        (dt.datetime(2027, 2, 7, 17, 30, tzinfo=dt.UTC), 10, True),
        (dt.datetime(2027, 1, 28, 17, 30, tzinfo=dt.UTC), 0, True),
    ],
)
def test_the_threshold_decides_when_a_decision_is_overdue(
    now: dt.datetime, days: int | None, found: bool
) -> None:
    observed = STILL_PRESENT.evaluate(_facts(now, days))
    assert observed is not None
    assert bool(observed) is found
    if found:
        assert observed[0].subject_key == "review_item:7"
        assert observed[0].evidence["decided_at"] == "2027-01-28T17:30:00+00:00"


def test_the_rule_is_registered_with_a_seven_day_default() -> None:
    assert BY_ID["review_not_carried_out"] is STILL_PRESENT
    assert STILL_PRESENT.default("days") == 7


@pytest.mark.parametrize(
    ("kind", "decision", "role", "steps"),
    [
        (
            "teammate",
            "revoke",
            None,
            (
                "In SendGrid, open Settings → Teammates.",
                "Find ann@corp.example and choose Delete, then confirm.",
            ),
        ),
        (
            "invite",
            "revoke",
            None,
            (
                "In SendGrid, open Settings → Teammates → Pending invites.",
                "Remove the invite to ann@corp.example.",
            ),
        ),
        (
            "subuser",
            "revoke",
            None,
            (
                "In SendGrid, open Settings → Subuser Management.",
                "Select the subuser ann and delete it (or disable it, if its "
                "data must be kept).",
            ),
        ),
        (
            "teammate",
            "modify",
            "user",
            (
                "In SendGrid, open Settings → Teammates.",
                "Choose Edit for ann@corp.example and change their access to "
                "Restricted Access.",
            ),
        ),
        ("teammate", "keep", None, ()),
        ("teammate", None, None, ()),
    ],
)
def test_the_checklist_names_sendgrids_menus(
    kind: str, decision: str | None, role: str | None, steps: tuple[str, ...]
) -> None:
    assert (
        checklist(
            kind=kind,
            decision=decision,
            email="ann@corp.example",
            username="ann",
            new_role=role,
        )
        == steps
    )
