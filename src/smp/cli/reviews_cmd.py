"""`smp reviews create|list|show|items|decide|signoff|owner`: access reviews.

The command line acts as an admin (recorded as `cli:<OS user>`); `--as
USER` acts as that SMP user instead, so a reviewer sees and decides only the
items assigned to them. The evidence pack's `export` and `verify` commands
register on `reviews_app` from their own module. docs/reviews.md has the cycle.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer
from rich.progress import Progress, TextColumn

from smp.cli import reviews_evidence_cmd
from smp.cli.opening import (
    EXIT_BAD_INPUT,
    console,
    fail,
    open_runtime,
    print_json,
    user_errors,
)
from smp.cli.views import data_table
from smp.model.reviews import Campaign, Decision, ReviewerRule, ReviewItem
from smp.model.rules_reviews import remediation_steps
from smp.services import reviews
from smp.services.reviews import Actor

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
IdArg = Annotated[
    str, typer.Argument(help="The campaign's id (from `smp reviews list`).")
]
AsUser = Annotated[
    str | None,
    typer.Option("--as", help="Act as this SMP user (a reviewer: own items only)."),
]
FilterOption = Annotated[
    str | None,
    typer.Option(
        "--filter",
        help='Only matching items, e.g. "classification=employee and role=admin".',
    ),
]
SOURCE = "cli"

reviews_app = typer.Typer(
    help="Access reviews: campaigns that certify who keeps SendGrid access.",
    no_args_is_help=True,
)


def _say(text: str) -> None:
    console.print(text, highlight=False, markup=False)


def _actor(engine: Any, user: str | None) -> Actor:
    if user is None:
        return reviews.command_line()
    with user_errors():
        return reviews.acting_user(engine, user, source=SOURCE)


def _due(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        fail(f"--due {text!r} is not a date: use YYYY-MM-DD", EXIT_BAD_INPUT)


def campaign_json(campaign: Campaign, names: dict[int, str]) -> dict[str, Any]:
    return {
        "id": campaign.id,
        "name": campaign.name,
        "status": campaign.status.value,
        "integrations": [names.get(i, str(i)) for i in campaign.integration_ids],
        "due": None if campaign.due is None else campaign.due.isoformat(),
        "items": campaign.items,
        "decided": campaign.decided,
    }


def item_json(item: ReviewItem, names: dict[int, str]) -> dict[str, Any]:
    return {
        "item_id": item.id,
        "integration": names.get(item.integration_id, str(item.integration_id)),
        "email": item.email,
        "role": item.role,
        "classification": item.classification,
        "reviewer": item.reviewer,
        "decision": None if item.decision is None else item.decision.value,
        "reason": item.reason,
        "decided_by": item.decided_by,
        "decided_at": None if item.decided_at is None else item.decided_at.isoformat(),
        "remediation": item.remediation.value,
    }


def remediation_json(item: ReviewItem) -> dict[str, Any]:
    """`items --steps`: what to change in SendGrid for a revoke or modify
    decision, and when a sync saw it done (beyond the issue's item shape)."""
    verified = item.remediation_verified_at
    return {
        "remediation_steps": list(remediation_steps(item)),
        "remediation_verified_at": None if verified is None else verified.isoformat(),
    }


@reviews_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="The campaign's name (unique).")],
    integrations: Annotated[
        str, typer.Option("--integrations", help="Integrations to review: A,B.")
    ],
    due: Annotated[
        str | None, typer.Option("--due", help="Due date, YYYY-MM-DD.")
    ] = None,
    reviewer_rule: Annotated[
        ReviewerRule,
        typer.Option(
            "--reviewer-rule",
            help="owner: the integration's named user; manager: the person's manager.",
        ),
    ] = ReviewerRule.MANAGER,
    as_user: AsUser = None,
) -> None:
    """Start a campaign: freeze every account of the integrations as items."""
    runtime = open_runtime()
    actor = _actor(runtime.engine, as_user)
    day = _due(due)
    with (
        Progress(
            TextColumn("Freezing accounts: {task.completed:,}"),
            console=console,
            transient=True,
        ) as bar,
        user_errors(),
    ):
        task = bar.add_task("freeze", total=None)
        created = reviews.create_campaign(
            runtime.engine,
            name=name,
            integrations=integrations.split(","),
            due=day,
            rule=reviewer_rule,
            actor=actor,
            now=runtime.context.now(),
            progress=lambda done: bar.update(task, completed=done),
        )
    _say(
        f"Campaign {created.id} {created.name!r} started with {created.items:,} "
        f"items (snapshot SHA-256 {created.snapshot_sha256})"
    )


@reviews_app.command("list")
def list_campaigns(as_json: JsonFlag = False, as_user: AsUser = None) -> None:
    """Campaigns with their items and how many are decided."""
    runtime = open_runtime()
    actor = _actor(runtime.engine, as_user)
    names = reviews.integration_names(runtime.engine)
    rows = [
        campaign_json(c, names) for c in reviews.list_campaigns(runtime.engine, actor)
    ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        _say("No review campaigns yet: start one with `smp reviews create`.")
        return
    for row in rows:
        row["integrations"] = ", ".join(row["integrations"])
    console.print(
        data_table(
            "Access reviews",
            rows,
            ["id", "name", "status", "integrations", "due", "items", "decided"],
        )
    )


@reviews_app.command("show")
def show(campaign_id: IdArg, as_json: JsonFlag = False, as_user: AsUser = None) -> None:
    """One campaign: status, due date, reviewer rule, counts and snapshot hash."""
    runtime = open_runtime()
    actor = _actor(runtime.engine, as_user)
    with user_errors():
        found = reviews.campaign_detail(runtime.engine, campaign_id, actor)
    body = campaign_json(found, reviews.integration_names(runtime.engine))
    body |= {
        "reviewer_rule": found.reviewer_rule.value,
        "created_by": found.created_by,
        "created_at": found.created_at.isoformat(),
        "signed_off_by": found.signed_off_by,
        "signed_off_at": (
            None if found.signed_off_at is None else found.signed_off_at.isoformat()
        ),
        "snapshot_sha256": found.snapshot_sha256,
    }
    if as_json:
        print_json(body)
        return
    for key, value in body.items():
        shown = ", ".join(value) if isinstance(value, list) else value
        _say(f"{key.replace('_', ' ')}: {'' if shown is None else shown}")


@reviews_app.command("items")
def items(
    campaign_id: IdArg,
    as_json: JsonFlag = False,
    filter_: FilterOption = None,
    reviewer: Annotated[
        str | None, typer.Option("--reviewer", help="Only this reviewer's items.")
    ] = None,
    steps: Annotated[
        bool,
        typer.Option(
            "--steps",
            help="Also what to change in SendGrid for each revoke or modify "
            "decision, and when a sync saw it done.",
        ),
    ] = False,
    as_user: AsUser = None,
) -> None:
    """A campaign's items (a reviewer: their own)."""
    runtime = open_runtime()
    actor = _actor(runtime.engine, as_user)
    with user_errors():
        found = reviews.list_items(
            runtime.engine,
            campaign_id,
            actor,
            expression=filter_,
            reviewer=reviewer,
        )
    names = reviews.integration_names(runtime.engine)
    rows = [item_json(i, names) for i in found]
    if steps:
        rows = [row | remediation_json(i) for row, i in zip(rows, found, strict=True)]
    if as_json:
        print_json(rows)
        return
    console.print(
        data_table(
            f"Items of campaign {campaign_id}",
            rows,
            [
                "item_id",
                "integration",
                "email",
                "role",
                "classification",
                "reviewer",
                "decision",
                "remediation",
            ],
        )
    )
    for row in rows if steps else ():
        if row["remediation_steps"]:
            _say(f"Item {row['item_id']} ({row['remediation']}):")
            for number, step in enumerate(row["remediation_steps"], 1):
                _say(f"  {number}. {step}")


@reviews_app.command("decide")
def decide(
    campaign_id: IdArg,
    words: Annotated[
        list[str],
        typer.Argument(
            help="ITEM_ID… then keep|revoke|modify (with --filter: only it)."
        ),
    ],
    filter_: FilterOption = None,
    role: Annotated[
        str | None,
        typer.Option("--role", help="The new role (modify): owner, admin, user."),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (required to revoke or modify).")
    ] = None,
    override: Annotated[
        bool,
        typer.Option(
            "--override",
            help="With --filter: also replace the decisions of items decided "
            "already (without it, only undecided items are decided).",
        ),
    ] = False,
    as_user: AsUser = None,
) -> None:
    """Decide items by id, or every undecided item a filter selects, in one go."""
    *item_ids, decision = words
    if decision.lower() not in {d.value for d in Decision}:
        fail(
            f"the last word must be keep, revoke or modify, not {decision!r}",
            EXIT_BAD_INPUT,
        )
    runtime = open_runtime()
    actor = _actor(runtime.engine, as_user)
    with user_errors():
        done = reviews.decide(
            runtime.engine,
            campaign_id,
            actor,
            decision,
            item_ids=item_ids,
            expression=filter_,
            new_role=role,
            reason=reason,
            override=override,
            now=runtime.context.now(),
        )
    changed, already = done.changed, done.already_decided
    said = f"{changed:,} item{'s' if changed != 1 else ''} decided {decision.lower()}"
    if already and done.override:
        said += f", of which {already:,} had a decision before (replaced)"
    elif already:
        said += (
            f"; {already:,} decided already left as they were "
            "(--override to replace them)"
        )
    _say(said)


@reviews_app.command("signoff")
def signoff(campaign_id: IdArg, as_user: AsUser = None) -> None:
    """Close a campaign whose every item is decided (admins)."""
    runtime = open_runtime()
    actor = _actor(runtime.engine, as_user)
    with user_errors():
        closed = reviews.sign_off(
            runtime.engine, campaign_id, actor, now=runtime.context.now()
        )
    _say(f"Campaign {closed.id} {closed.name!r} signed off: {closed.items:,} items")


@reviews_app.command("owner")
def owner(
    integration: Annotated[str, typer.Argument(help="The integration (name or id).")],
    user: Annotated[
        str | None, typer.Argument(help="The SMP user who reviews its accounts.")
    ] = None,
    clear: Annotated[
        bool, typer.Option("--clear", help="No named reviewer: the admins review.")
    ] = False,
) -> None:
    """Name the SMP user who reviews an integration's accounts."""
    if (user is None) != clear:
        fail("give a user name, or --clear", EXIT_BAD_INPUT)
    runtime = open_runtime()
    with user_errors():
        named = reviews.set_review_owner(
            runtime.engine,
            integration,
            user,
            reviews.command_line(),
        )
    _say(f"{integration}: reviewed by {named or 'the admins'}")


reviews_evidence_cmd.register(reviews_app)  # export, verify
