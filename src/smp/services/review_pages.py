"""What the access review pages read beyond smp.services.reviews: a campaign's
counts by decision and remediation, the filter choices, counts and pages of
items under the page's filter, and one item with its reviewer checked.

Every read is limited to what the actor may see (a reviewer: their own items)
and counts in SQL, so a campaign of 200,000 items is never read whole. The
page's filter is written in the filter language of `smp reviews decide
--filter` (`ItemFilter.expression`) and only ever read through it: the
page's lists, its counts and a bulk decision all parse that expression and
select with the same storage conditions, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, Engine, Table, func, select

from smp.model.reviews import Decision, Remediation, ReviewItem
from smp.services.refusals import Refused
from smp.services.reviews import Actor, get_item, list_items
from smp.services.reviews import count_items as reviews_count
from smp.storage import read_session
from smp.storage.tables import IntegrationRow, ReviewItemRow

__all__ = [
    "NONE",
    "UNDECIDED",
    "ItemFilter",
    "Summary",
    "count_items",
    "filter_choices",
    "item",
    "page_items",
    "remediation_items",
    "review_owners",
    "summary",
]

ITEMS = cast(Table, ReviewItemRow.__table__)
# A filter value meaning "no value" (no department; admins review the item).
NONE = "(none)"
UNDECIDED = "undecided"
# Distinct values offered in a filter's list; more than this is unusual.
MAX_CHOICES = 500
# The remediation checklist lists the items a decision asks to change
# (quoted: the filter language reads a bare `none` as "no value").
TO_CHANGE = 'remediation!="none"'


@dataclass(frozen=True, slots=True)
class ItemFilter:
    """The items table's filters; "" means any value."""

    integration: int | None = None
    classification: str = ""
    decision: str = ""
    reviewer: str = ""
    department: str = ""

    @property
    def is_empty(self) -> bool:
        return self == ItemFilter()

    def _terms(self) -> list[tuple[str, str | None]]:
        """(field, value) pairs of the filters set; None for NONE/undecided."""
        terms: list[tuple[str, str | None]] = []
        if self.integration is not None:
            terms.append(("integration", str(self.integration)))
        if self.classification:
            terms.append(("classification", self.classification))
        if self.decision:
            terms.append(
                ("decision", None if self.decision == UNDECIDED else self.decision)
            )
        for field in ("reviewer", "department"):
            value = getattr(self, field)
            if value:
                terms.append((field, None if value == NONE else value))
        return terms

    def expression(self) -> str:
        """The filter as `smp reviews decide --filter` reads it; every item
        (`kind!=none`: each item has a kind) when no filter is set."""
        terms = self._terms()
        if not terms:
            return "kind!=none"
        return " and ".join(f"{field}={_quoted(value)}" for field, value in terms)


def _quoted(value: str | None) -> str:
    if value is None:
        return "none"
    if '"' not in value:
        return f'"{value}"'
    if "'" not in value:
        return f"'{value}'"
    raise Refused(
        "a value holding both kinds of quote marks cannot be filtered on: "
        "choose another filter",
        field="filter",
    )


def _scope(campaign_id: int, actor: Actor) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = [ITEMS.c.campaign_id == campaign_id]
    if actor.reviewer is not None:
        clauses.append(ITEMS.c.reviewer == actor.reviewer)
    return clauses


@dataclass(frozen=True, slots=True)
class Summary:
    """A campaign's items the actor may see, counted."""

    # keep / revoke / modify / undecided -> items
    decisions: dict[str, int]
    # pending / verified / overdue -> items (revoke and modify decisions)
    remediation: dict[str, int]

    @property
    def undecided(self) -> int:
        return self.decisions[UNDECIDED]


def summary(engine: Engine, campaign_id: int, actor: Actor) -> Summary:
    scope = _scope(campaign_id, actor)
    with read_session(engine) as session:
        by_decision: dict[str | None, int] = dict(
            session.execute(
                select(ITEMS.c.decision, func.count())
                .where(*scope)
                .group_by(ITEMS.c.decision)
            ).all()
        )
        by_remediation: dict[str, int] = dict(
            session.execute(
                select(ITEMS.c.remediation, func.count())
                .where(*scope)
                .group_by(ITEMS.c.remediation)
            ).all()
        )
    decisions = {d.value: int(by_decision.get(d.value, 0)) for d in Decision}
    decisions[UNDECIDED] = int(by_decision.get(None, 0))
    remediation = {
        r.value: int(by_remediation.get(r.value, 0))
        for r in Remediation
        if r is not Remediation.NONE
    }
    return Summary(decisions, remediation)


@dataclass(frozen=True, slots=True)
class Choices:
    """Values the items (the actor may see) hold, for the filters' lists."""

    departments: tuple[str, ...]
    has_no_department: bool
    reviewers: tuple[str, ...]
    has_admin_items: bool


def _distinct(session: Any, column: Any, scope: Sequence[Any]) -> list[Any]:
    query = select(column).where(*scope).distinct().order_by(column).limit(MAX_CHOICES)
    return list(session.scalars(query))


def filter_choices(engine: Engine, campaign_id: int, actor: Actor) -> Choices:
    scope = _scope(campaign_id, actor)
    with read_session(engine) as session:
        departments = _distinct(session, ITEMS.c.department, scope)
        reviewers = _distinct(session, ITEMS.c.reviewer, scope)
    return Choices(
        tuple(d for d in departments if d is not None),
        None in departments,
        tuple(r for r in reviewers if r is not None),
        None in reviewers,
    )


def count_items(
    engine: Engine, campaign_id: int, actor: Actor, chosen: ItemFilter
) -> tuple[int, int]:
    """How many items the filter selects, and how many of them are decided:
    counted by the filter language's own path (`ItemFilter.expression`), the
    one a bulk decision takes, so the confirmation never says another count."""
    return reviews_count(engine, campaign_id, actor, expression=chosen.expression())


def page_items(
    engine: Engine,
    campaign_id: int,
    actor: Actor,
    chosen: ItemFilter,
    *,
    limit: int,
    offset: int,
) -> list[ReviewItem]:
    return list_items(
        engine,
        campaign_id,
        actor,
        expression=None if chosen.is_empty else chosen.expression(),
        limit=limit,
        offset=offset,
    )


def remediation_items(
    engine: Engine, campaign_id: int, actor: Actor, *, limit: int, offset: int
) -> tuple[int, list[ReviewItem]]:
    """Revoke and modify decisions (what to change in SendGrid): how many, a page."""
    with read_session(engine) as session:
        total = session.scalar(
            select(func.count()).where(
                *_scope(campaign_id, actor),
                ITEMS.c.remediation != Remediation.NONE.value,
            )
        )
    found = list_items(
        engine, campaign_id, actor, expression=TO_CHANGE, limit=limit, offset=offset
    )
    return int(total or 0), found


def item(engine: Engine, campaign_id: int, item_id: int, actor: Actor) -> ReviewItem:
    """One item of the campaign; another reviewer's is `forbidden` (403)."""
    return get_item(engine, campaign_id, item_id, actor)


def review_owners(engine: Engine) -> dict[int, str | None]:
    """Each integration's named reviewer (None: the admins review it)."""
    with read_session(engine) as session:
        return dict(
            session.execute(
                select(IntegrationRow.id, IntegrationRow.review_owner)
            ).all()
        )
