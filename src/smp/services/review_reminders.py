"""Reminders before an access review's due date, through the alert channels.

An open campaign with a due date and undecided items gets a reminder three
days before it is due, one day before and on the due date (days in UTC).
Each alert round (smp.runtime.alerting) looks for a stage that has come and
was not reminded yet, and claims it with one conditional UPDATE of the
campaign's `reminded_at`: of any number of rounds, processes or servers,
exactly one wins the stage and sends it, once, to every channel. A server
down for a whole stage sends only the latest one when it is back (a late
"due in 3 days" would be wrong), and nothing after the due date.

The claim comes before the send: a channel that fails then misses that
stage's reminder (logged), rather than anyone getting it twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine, func, or_, select, update
from sqlalchemy.orm import Session

from smp.model.alerts import AlertItem, Channel
from smp.services.alerts.delivery import channel_secret
from smp.services.alerts.messages import Batch
from smp.services.alerts.senders import DeliveryFailed, send
from smp.storage import MasterKeyError, SecretBox, read_session
from smp.storage import alerts as alert_store
from smp.storage.tables import IntegrationRow, ReviewCampaignRow, ReviewItemRow

log = logging.getLogger(__name__)

# Days before the due date a reminder goes out: 0 is the due date itself.
REMINDER_DAYS = (3, 1, 0)


@dataclass(frozen=True, slots=True)
class Stage:
    days_before: int
    starts: dt.datetime  # midnight UTC of that day


def current_stage(due: dt.date, now: dt.datetime) -> Stage | None:
    """The latest reminder stage that has come at `now`; None before the
    first and after the due date."""
    today = now.astimezone(dt.UTC).date()
    left = (due - today).days
    if left < 0:
        return None
    reached = [days for days in REMINDER_DAYS if days >= left]
    if not reached:
        return None
    days = min(reached)
    day = due - dt.timedelta(days=days)
    return Stage(days, dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC))


@dataclass(slots=True)
class ReminderReport:
    # (campaign id, days before due) claimed and sent this round
    reminded: list[tuple[int, int]] = field(default_factory=list)
    sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Due:
    id: int
    name: str
    due: dt.date
    reminded_at: dt.datetime | None
    integration_ids: Sequence[int]


def _candidates(session: Session) -> list[_Due]:
    c = ReviewCampaignRow
    rows = session.execute(
        select(c.id, c.name, c.due, c.reminded_at, c.integration_ids).where(
            c.status == "open", c.due.is_not(None)
        )
    )
    return [_Due(i, n, d, r, ids) for i, n, d, r, ids in rows if d is not None]


def _claim(session: Session, campaign: _Due, stage: Stage, now: dt.datetime) -> bool:
    """Take the stage for this round; False when another round has it."""
    c = ReviewCampaignRow
    claimed = session.execute(
        update(c)
        .where(
            c.id == campaign.id,
            c.status == "open",
            or_(c.reminded_at.is_(None), c.reminded_at < stage.starts),
        )
        .values(reminded_at=now)
    )
    return bool(getattr(claimed, "rowcount", 0) == 1)


def _progress(session: Session, campaign_id: int) -> tuple[int, int]:
    """(items, undecided) of a campaign."""
    i = ReviewItemRow
    total, undecided = session.execute(
        select(
            func.count(),
            func.count().filter(i.decision.is_(None)),
        ).where(i.campaign_id == campaign_id)
    ).one()
    return int(total), int(undecided)


def reminder_item(
    campaign: _Due, stage: Stage, integrations: str, total: int, undecided: int
) -> AlertItem:
    when = {0: "today", 1: "tomorrow"}.get(
        stage.days_before, f"in {stage.days_before} days"
    )
    return AlertItem(
        # Not a finding: id 0, and the reminder's stage as its episode.
        finding_id=0,
        episode=stage.days_before,
        integration=integrations,
        rule="review_due",
        severity="medium",
        title=(
            f"Access review {campaign.name!r} is due {when} "
            f"({campaign.due.isoformat()}): {undecided} of {total} items undecided"
        ),
        subject=f"review campaign {campaign.id}",
        evidence={
            "campaign": campaign.name,
            "campaign_id": campaign.id,
            "due": campaign.due.isoformat(),
            "items": total,
            "undecided": undecided,
        },
        fix=(
            f"Reviewers: `smp reviews items {campaign.id} --filter decision=none` "
            "lists what is left to decide (each sees their own items).",
            f"Decide each item: `smp reviews decide {campaign.id} ITEM… "
            "keep|revoke|modify`.",
            f"An admin then signs off: `smp reviews signoff {campaign.id}`.",
        ),
    )


async def send_reminders(
    engine: Engine, box: SecretBox, now: dt.datetime
) -> ReminderReport:
    """Claim and send every reminder stage that has come (see the module)."""
    report = ReminderReport()
    with read_session(engine) as session:
        channels = alert_store.list_channels(session)
        candidates = _candidates(session)
    if not channels or not candidates:
        return report
    for campaign in candidates:
        stage = current_stage(campaign.due, now)
        if stage is None or (
            campaign.reminded_at is not None and campaign.reminded_at >= stage.starts
        ):
            continue
        with Session(engine) as session, session.begin():
            total, undecided = _progress(session, campaign.id)
            if not undecided or not _claim(session, campaign, stage, now):
                continue
            names = session.scalars(
                select(IntegrationRow.name).where(
                    IntegrationRow.id.in_(list(campaign.integration_ids))
                )
            )
            integrations = ", ".join(sorted(names))
        report.reminded.append((campaign.id, stage.days_before))
        item = reminder_item(campaign, stage, integrations, total, undecided)
        for channel in channels:
            await _send_one(
                engine,
                box,
                channel,
                Batch("reminder", (item,), now, channel.name),
                report,
            )
    return report


async def _send_one(
    engine: Engine,
    box: SecretBox,
    channel: Channel,
    batch: Batch,
    report: ReminderReport,
) -> None:
    try:
        await send(channel, channel_secret(engine, box, channel), batch)
    except (DeliveryFailed, MasterKeyError) as error:
        report.failed += 1
        report.errors.append(f"{channel.name}: {error}")
        log.warning("review reminder to channel %s not sent: %s", channel.name, error)
        return
    report.sent += 1
