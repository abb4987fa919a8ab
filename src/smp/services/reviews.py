"""Access reviews' use cases, shared by `smp reviews` and `/api/v1/reviews`.

Admins create campaigns, see and decide every item and sign off; any other
SMP user is a reviewer who sees and decides only the items assigned to them
(another's item is `forbidden`, 403). Each write is one transaction with its
audit entry: a refusal changes nothing. docs/reviews.md has the cycle.

Refusals (`Refused`): an unknown campaign, item, integration or user is
`not_found`; a decision on a closed campaign, a sign-off with undecided items
and a taken name are `conflict`; a bad filter, a decision without its reason
or role and a bad name are `invalid`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from smp.model.people import AccountKind
from smp.model.reviews import (
    Campaign,
    CampaignStatus,
    Condition,
    Decision,
    ReviewerRule,
    ReviewItem,
    ReviewRuleError,
    check_decision,
    check_open,
    parse_filter,
)
from smp.model.users import UserRole, name_key
from smp.sendgrid.keys import contains_key
from smp.services import audit
from smp.services.audit import record
from smp.services.input_rules import KEY_IN_TEXT, MAX_ID
from smp.services.refusals import Refused, refusing
from smp.storage import get_integration, list_integrations, read_session
from smp.storage import reviews as store
from smp.storage.errors import RecordNotFoundError
from smp.storage.reviews import Progress
from smp.storage.users import get_user

__all__ = [
    "Actor",
    "Campaign",
    "Decided",
    "ReviewItem",
    "acting_user",
    "campaign_detail",
    "command_line",
    "count_items",
    "create_campaign",
    "decide",
    "get_item",
    "integration_names",
    "list_campaigns",
    "list_items",
    "page_items",
    "set_review_owner",
    "sign_off",
]

MAX_NAME = 200
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: an SMP user's name key (None for the command line as such),
    whether they are an admin, and where from ("cli" or a client address)."""

    name: str | None
    is_admin: bool
    source: str

    @property
    def audited(self) -> audit.Actor:
        """The same actor in the audit trail's terms."""
        return audit.Actor(self.name, self.source)

    @property
    def reviewer(self) -> str | None:
        """The reviewer the actor is limited to; None = every item (admins)."""
        return None if self.is_admin else self.name


def command_line() -> Actor:
    """The CLI acting as such: an admin, named `cli:<OS user>` as in the audit
    trail."""
    named = audit.cli_actor()
    return Actor(named.name, True, named.source)


def acting_user(engine: Engine, user: str, *, source: str) -> Actor:
    """The actor for an SMP user named `user` (unknown: not_found)."""
    with refusing(), read_session(engine) as session:
        found = get_user(session, user)
    return Actor(found.name, found.role is UserRole.ADMIN, source)


def _rule_error(error: ReviewRuleError, field: str | None) -> Refused:
    return Refused(str(error), field=field)


def _campaign_id(campaign_id: str | int) -> int:
    text = str(campaign_id).strip()
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= MAX_ID:
        raise Refused(f"no review campaign {str(campaign_id)!r}", kind="not_found")
    return int(text)


def _require_admin(actor: Actor, what: str) -> None:
    if not actor.is_admin:
        raise Refused(f"only an admin may {what}", kind="forbidden")


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > MAX_NAME:
        raise Refused(f"a campaign name has 1 to {MAX_NAME} characters", field="name")
    if _CONTROL.search(cleaned):
        raise Refused("the campaign name holds control characters", field="name")
    if contains_key(cleaned):
        raise Refused(KEY_IN_TEXT, field="name")
    return cleaned


def create_campaign(
    engine: Engine,
    *,
    name: str,
    integrations: Sequence[str],
    due: dt.date | None,
    rule: ReviewerRule,
    actor: Actor,
    now: dt.datetime,
    progress: Progress | None = None,
) -> Campaign:
    """Freeze every account of `integrations` (names or ids) into a campaign."""
    _require_admin(actor, "start a review campaign")
    cleaned = _clean_name(name)
    wanted = [i.strip() for i in integrations if i.strip()]
    if not wanted:
        raise Refused("name at least one integration to review", field="integrations")
    with refusing(name_field="name"), Session(engine) as session, session.begin():
        ids = sorted({_integration(session, i) for i in wanted})
        campaign_id = store.create_campaign(
            session,
            name=cleaned,
            integration_ids=ids,
            due=due,
            rule=rule,
            created_by=actor.name,
            now=now,
            progress=progress,
        )
        created = store.campaign(session, campaign_id)
        record(
            session,
            actor.audited,
            "review.create",
            f"review {campaign_id}",
            {
                "name": cleaned,
                "integrations": ids,
                "due": None if due is None else due.isoformat(),
                "reviewer_rule": rule.value,
                "items": created.items,
                "snapshot_sha256": created.snapshot_sha256,
            },
            now=now,
        )
    return created


def _integration(session: Session, name_or_id: str) -> int:
    if name_or_id.isascii() and name_or_id.isdigit() and int(name_or_id) > MAX_ID:
        raise Refused(f"no integration {name_or_id!r}", kind="not_found")
    try:
        return get_integration(session, name_or_id).id
    except RecordNotFoundError:
        raise Refused(f"no integration {name_or_id!r}", kind="not_found") from None


def list_campaigns(engine: Engine, actor: Actor) -> list[Campaign]:
    """Admins: every campaign; a reviewer: those with items assigned to them."""
    with read_session(engine) as session:
        return store.list_campaigns(session, reviewer=actor.reviewer)


def campaign_detail(engine: Engine, campaign_id: str | int, actor: Actor) -> Campaign:
    """The campaign, counted over the items the actor sees; a reviewer with
    no item in it is `forbidden` (403), as on the web: its name and dates
    are not theirs to read."""
    number = _campaign_id(campaign_id)
    with refusing(), read_session(engine) as session:
        found = store.campaign(session, number, reviewer=actor.reviewer)
    if actor.reviewer is not None and not found.items:
        raise Refused(
            f"no item of review campaign {number} is assigned to you",
            kind="forbidden",
        )
    return found


def integration_names(engine: Engine) -> dict[int, str]:
    with read_session(engine) as session:
        return {i.id: i.name for i in list_integrations(session)}


def _conditions(session: Session, expression: str | None) -> list[Condition]:
    """The filter parsed, integration names as ids and reviewers as name keys."""
    if expression is None:
        return []
    # Refusals quote the filter where parsing stopped: a pasted key must be
    # refused before, whether the filter lists items or decides them.
    if contains_key(expression):
        raise Refused(KEY_IN_TEXT, field="filter")
    try:
        parsed = parse_filter(expression)
    except ReviewRuleError as error:
        raise _rule_error(error, "filter") from None
    resolved: list[Condition] = []
    for c in parsed:
        if c.value is not None and c.field == "integration":
            try:
                c = Condition(c.field, c.negated, str(_integration(session, c.value)))
            except Refused:
                raise Refused(
                    f"filter: no integration {c.value!r}", field="filter"
                ) from None
        elif c.value is not None and c.field == "reviewer":
            c = Condition(c.field, c.negated, name_key(c.value))
        resolved.append(c)
    return resolved


def _reviewer_scope(actor: Actor, reviewer: str | None) -> str | None:
    """Whose items to read: a reviewer only their own, an admin anyone's."""
    if reviewer is None:
        return actor.reviewer
    key = name_key(reviewer)
    if not actor.is_admin and key != actor.name:
        raise Refused("a reviewer sees only their own items", kind="forbidden")
    return key


def list_items(
    engine: Engine,
    campaign_id: str | int,
    actor: Actor,
    *,
    expression: str | None = None,
    reviewer: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[ReviewItem]:
    number = _campaign_id(campaign_id)
    scope = _reviewer_scope(actor, reviewer)
    with refusing(), read_session(engine) as session:
        store.campaign(session, number)
        conditions = _conditions(session, expression)
        return store.list_items(
            session,
            number,
            conditions=conditions,
            reviewer=scope,
            limit=limit,
            offset=offset,
        )


def page_items(
    engine: Engine,
    campaign_id: str | int,
    actor: Actor,
    *,
    expression: str | None = None,
    reviewer: str | None = None,
    limit: int,
    offset: int = 0,
) -> tuple[list[ReviewItem], int]:
    """A page of `list_items` and how many items match in all."""
    number = _campaign_id(campaign_id)
    scope = _reviewer_scope(actor, reviewer)
    with refusing(), read_session(engine) as session:
        store.campaign(session, number)
        conditions = _conditions(session, expression)
        items = store.list_items(
            session,
            number,
            conditions=conditions,
            reviewer=scope,
            limit=limit,
            offset=offset,
        )
        total = store.count_items(
            session, number, conditions=conditions, reviewer=scope
        )
    return items, total


def count_items(
    engine: Engine, campaign_id: str | int, actor: Actor, *, expression: str
) -> tuple[int, int]:
    """How many items the filter selects (a reviewer: among their own) and
    how many of them are decided: the very conditions `decide` uses for the
    same filter, so a confirmation's count is what a decision changes."""
    number = _campaign_id(campaign_id)
    with refusing(), read_session(engine) as session:
        store.campaign(session, number)
        conditions = _conditions(session, expression)
        total = store.count_items(
            session, number, conditions=conditions, reviewer=actor.reviewer
        )
        decided = store.count_items(
            session,
            number,
            conditions=[*conditions, Condition("decision", True, None)],
            reviewer=actor.reviewer,
        )
    return total, decided


def get_item(
    engine: Engine, campaign_id: str | int, item_id: int, actor: Actor
) -> ReviewItem:
    """One item of the campaign; another reviewer's is `forbidden` (403)."""
    number = _campaign_id(campaign_id)
    with refusing(), read_session(engine) as session:
        store.campaign(session, number)
        found = store.get_item(session, number, item_id)
    if found is None:
        raise Refused(f"campaign {number} has no item {item_id}", kind="not_found")
    if actor.reviewer is not None and found.reviewer != actor.reviewer:
        raise Refused(
            f"item {item_id} is assigned to another reviewer: "
            "a reviewer sees only their own items",
            kind="forbidden",
        )
    return found


def _item_ids(item_ids: Sequence[str | int]) -> list[int]:
    numbers: list[int] = []
    for raw in item_ids:
        text = str(raw).strip()
        if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= MAX_ID:
            raise Refused(f"no review item {str(raw)!r}", kind="not_found")
        numbers.append(int(text))
    return sorted(set(numbers))


def _check_items(
    session: Session, campaign_id: int, numbers: Sequence[int], actor: Actor
) -> None:
    owners = store.item_reviewers(session, campaign_id, numbers)
    missing = [n for n in numbers if n not in owners]
    if missing:
        shown = ", ".join(str(n) for n in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise Refused(
            f"campaign {campaign_id} has no item {shown}{more}", kind="not_found"
        )
    if actor.is_admin:
        return
    others = [n for n in numbers if owners[n] != actor.name]
    if others:
        shown = ", ".join(str(n) for n in others[:5])
        raise Refused(
            f"item {shown} is assigned to another reviewer: "
            "a reviewer decides only their own items",
            kind="forbidden",
        )


def _no_subusers(
    session: Session,
    campaign_id: int,
    numbers: Sequence[int],
    conditions: Sequence[Condition],
    actor: Actor,
) -> None:
    """A modify decision never reaches a subuser: SendGrid subusers have no
    role, so SMP could never verify it (revoke disables or deletes them)."""
    subusers = store.count_selected(
        session,
        campaign_id,
        item_ids=numbers or None,
        conditions=[*conditions, Condition("kind", False, AccountKind.SUBUSER.value)],
        reviewer=actor.reviewer,
    )
    if not subusers:
        return
    why = "SendGrid subusers have no role; revoke disables or deletes them"
    if numbers:
        which = (
            f"item {numbers[0]} is a subuser"
            if len(numbers) == 1
            else f"{subusers} of the items are subusers"
        )
        raise Refused(f"modify: {which}: {why}", field="decision")
    plural = "s" if subusers != 1 else ""
    raise Refused(
        f"modify: the filter selects {subusers} subuser{plural}: {why} "
        "(add kind!=subuser to the filter)",
        field="decision",
    )


@dataclass(frozen=True, slots=True)
class Decided:
    """What a decision changed."""

    # Items decided now.
    changed: int
    # A filter's items that held a decision already: left as they were, or
    # (`override`) among `changed`. Always 0 for items given by id.
    already_decided: int = 0
    override: bool = False


def decide(
    engine: Engine,
    campaign_id: str | int,
    actor: Actor,
    decision: Decision | str,
    *,
    item_ids: Sequence[str | int] = (),
    expression: str | None = None,
    new_role: str | None = None,
    reason: str | None = None,
    override: bool = False,
    now: dt.datetime,
) -> Decided:
    """Decide the items given, or every item the filter selects (a reviewer:
    among their own). A filter decides undecided items only, unless
    `override`: a bulk decision never silently replaces a reviewer's. All or
    nothing."""
    number = _campaign_id(campaign_id)
    if bool(item_ids) == (expression is not None):
        raise Refused("give item ids or --filter, not both and not neither")
    try:
        verdict = check_decision(decision, new_role=new_role, reason=reason)
    except ReviewRuleError as error:
        message = str(error)
        field = "role" if "role" in message else "reason"
        if message.startswith("unknown decision"):
            field = "decision"
        raise _rule_error(error, field) from None
    # The reason reaches the audit trail, campaign.json, the workbook and the
    # report: a pasted key is refused before any of them (a filter's key is
    # refused by _conditions, before anything is written).
    if verdict.reason is not None and contains_key(verdict.reason):
        raise Refused(KEY_IN_TEXT, field="reason")
    numbers = _item_ids(item_ids)
    with refusing(), Session(engine) as session, session.begin():
        found = store.lock_campaign(session, number)
        try:
            check_open(found.status, found.name)
        except ReviewRuleError as error:
            raise Refused(str(error), kind="conflict") from None
        conditions = _conditions(session, expression)
        already = 0
        if numbers:
            _check_items(session, number, numbers, actor)
        else:
            already = store.count_selected(
                session,
                number,
                item_ids=None,
                conditions=[*conditions, Condition("decision", True, None)],
                reviewer=actor.reviewer,
            )
            if not override:
                conditions.append(Condition("decision", False, None))
        if verdict.decision is Decision.MODIFY:
            _no_subusers(session, number, numbers, conditions, actor)
        changed = store.decide(
            session,
            number,
            verdict,
            actor=actor.name,
            now=now,
            item_ids=numbers or None,
            conditions=conditions,
            reviewer=actor.reviewer,
        )
        details: dict[str, object] = {
            "decision": verdict.decision.value,
            "new_role": None if verdict.new_role is None else verdict.new_role.value,
            "reason": verdict.reason,
            "count": changed,
        }
        if expression is not None:
            details["filter"] = expression
            details["override"] = override
            details["already_decided"] = already
        else:
            details["items"] = numbers[:1000]
        record(
            session,
            actor.audited,
            "review.decide_bulk" if expression is not None else "review.decide",
            f"review {number}",
            details,
            now=now,
        )
    return Decided(changed, already, override and not numbers)


def sign_off(
    engine: Engine, campaign_id: str | int, actor: Actor, *, now: dt.datetime
) -> Campaign:
    """Close a campaign whose every item is decided (admins only)."""
    number = _campaign_id(campaign_id)
    _require_admin(actor, "sign off a review campaign")
    with refusing(), Session(engine) as session, session.begin():
        found = store.lock_campaign(session, number)
        if found.status is CampaignStatus.CLOSED:
            raise Refused(
                f"campaign {found.name!r} is signed off already", kind="conflict"
            )
        undecided = store.count_undecided(session, number)
        if undecided:
            raise Refused(
                f"campaign {found.name!r} has {undecided} undecided "
                f"item{'s' if undecided != 1 else ''}: decide every item first",
                kind="conflict",
            )
        store.sign_off(session, number, actor=actor.name, now=now)
        record(
            session,
            actor.audited,
            "review.signoff",
            f"review {number}",
            {"name": found.name},
            now=now,
        )
        return store.campaign(session, number)


def set_review_owner(
    engine: Engine,
    integration: str,
    user: str | None,
    actor: Actor,
) -> str | None:
    """Name the SMP user who reviews an integration's accounts (None: admins)."""
    _require_admin(actor, "name an integration's reviewer")
    with refusing(), Session(engine) as session, session.begin():
        iid = _integration(session, integration)
        owner = None if user is None else get_user(session, user).name
        store.set_review_owner(session, iid, owner)
        record(
            session,
            actor.audited,
            "integration.review_owner",
            f"integration {iid}",
            {"review_owner": owner},
        )
    return owner
