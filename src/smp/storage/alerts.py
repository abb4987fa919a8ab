"""Alert channels and the bookkeeping that sends each finding's episode once.

Once only, across restarts, re-syncs and servers:
- `queue_new_findings` inserts one `alert_deliveries` row per (channel,
  finding, episode) with INSERT … ON CONFLICT DO NOTHING, so two servers
  queueing the same finding make one row;
- `claim` takes due rows with ONE UPDATE that only matches pending rows whose
  claim is free or expired, stamping them with the caller's token; on SQLite
  writers take turns, on PostgreSQL a second UPDATE waits for the first and
  re-checks the row, so exactly one caller gets each row;
- the caller sends, then `finish_*` writes the outcome only where its token
  still stands (a claim that expired and was taken over is not overwritten).

A delivery is lost only if SMP crashes between the receiver accepting it and
`finish_sent`; then the claim expires and it is sent again (the message says
its event id, so a receiver can drop the repeat). Like every repository here,
nothing commits: the caller does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, delete, func, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from smp.model.alerts import (
    IMMEDIATE_SEVERITY,
    SEVERITIES,
    Channel,
    ChannelKind,
    DeliveryCounts,
    DeliveryStatus,
    RetryPlan,
    Timing,
    admitted,
    next_digest_at,
)
from smp.storage.errors import DuplicateNameError, RecordNotFoundError
from smp.storage.tables import (
    AlertChannelRow,
    AlertDeliveryRow,
    FindingRow,
    IntegrationRow,
)

Delivery = AlertDeliveryRow
OPEN = "open"


def channel_key(name: str) -> str:
    return name.strip().casefold()


def _channel(row: AlertChannelRow) -> Channel:
    return Channel(
        id=row.id,
        name=row.name,
        kind=ChannelKind(row.kind),
        min_severity=row.min_severity,
        settings=dict(row.settings),
        created_at=row.created_at,
        created_by=row.created_by,
    )


def create_channel(
    session: Session,
    *,
    name: str,
    kind: ChannelKind,
    min_severity: str,
    settings: dict[str, Any],
    encrypted_secret: str,
    created_by: str | None,
    now: dt.datetime,
) -> Channel:
    row = AlertChannelRow(
        name=name,
        name_key=channel_key(name),
        kind=kind.value,
        min_severity=min_severity,
        settings=settings,
        encrypted_secret=encrypted_secret,
        created_by=created_by,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise DuplicateNameError(f"an alert channel named {name!r} exists") from None
    return _channel(row)


def list_channels(session: Session) -> list[Channel]:
    rows = session.scalars(select(AlertChannelRow).order_by(AlertChannelRow.name_key))
    return [_channel(row) for row in rows]


def get_channel(session: Session, name: str) -> tuple[Channel, str]:
    """The channel named `name` (any case) and its encrypted secret."""
    row = session.scalar(
        select(AlertChannelRow).where(AlertChannelRow.name_key == channel_key(name))
    )
    if row is None:
        raise RecordNotFoundError(f"no alert channel named {name!r}")
    return _channel(row), row.encrypted_secret


def channel_by_id(session: Session, channel_id: int) -> Channel | None:
    row = session.get(AlertChannelRow, channel_id)
    return None if row is None else _channel(row)


def channel_secret(session: Session, channel_id: int) -> str:
    token = session.scalar(
        select(AlertChannelRow.encrypted_secret).where(AlertChannelRow.id == channel_id)
    )
    if token is None:
        raise RecordNotFoundError(f"no alert channel with id {channel_id}")
    return token


def delete_channel(session: Session, channel_id: int) -> None:
    """The channel and its deliveries (by cascade)."""
    session.execute(delete(AlertChannelRow).where(AlertChannelRow.id == channel_id))


def channel_secrets(session: Session) -> list[tuple[int, str, str]]:
    """(channel id, name, token) of every channel: for the master key's rotation."""
    rows = session.execute(
        select(
            AlertChannelRow.id, AlertChannelRow.name, AlertChannelRow.encrypted_secret
        ).order_by(AlertChannelRow.id)
    )
    return [(channel_id, name, token) for channel_id, name, token in rows]


def replace_channel_secret(session: Session, channel_id: int, token: str) -> None:
    session.execute(
        update(AlertChannelRow)
        .where(AlertChannelRow.id == channel_id)
        .values(encrypted_secret=token)
    )


# --- queueing and claiming -------------------------------------------------------


def queue_new_findings(
    session: Session, channel: Channel, now: dt.datetime, *, digest_hour: int
) -> int:
    """Queue each open finding episode the channel has not had; how many.

    High severity opened after the channel existed goes at once; the rest,
    and what was already open when the channel was added, waits for the
    next digest (a new channel does not page anyone for old findings).
    """
    already = (
        select(Delivery.id)
        .where(
            Delivery.channel_id == channel.id,
            Delivery.finding_id == FindingRow.id,
            Delivery.episode == FindingRow.episode,
        )
        .exists()
    )
    found = session.execute(
        select(
            FindingRow.id,
            FindingRow.episode,
            FindingRow.severity,
            FindingRow.episode_opened_at,
        ).where(
            FindingRow.status == OPEN,
            FindingRow.severity.in_(admitted(channel.min_severity)),
            ~already,
        )
    ).all()
    digest_at = next_digest_at(now, digest_hour)
    requeued = _requeue_reopened(session, channel, now, digest_at)
    if not found:
        return requeued
    rows = []
    for finding_id, episode, severity, opened_at in found:
        at_once = severity == IMMEDIATE_SEVERITY and opened_at >= channel.created_at
        rows.append(
            {
                "channel_id": channel.id,
                "finding_id": finding_id,
                "episode": episode,
                "timing": (Timing.IMMEDIATE if at_once else Timing.DIGEST).value,
                "status": DeliveryStatus.PENDING.value,
                "attempts": 0,
                "next_attempt_at": now if at_once else digest_at,
                "created_at": now,
            }
        )
    postgres = session.get_bind().dialect.name == "postgresql"
    insert = postgresql.insert if postgres else sqlite.insert
    # RETURNING lists only the rows this call inserted: another server that
    # queued the same episodes between the SELECT above and this INSERT made
    # them, and they count there, not twice.
    statement = (
        insert(Delivery)
        .on_conflict_do_nothing(index_elements=["channel_id", "finding_id", "episode"])
        .returning(Delivery.id)
    )
    inserted = session.execute(statement, rows).all()
    return requeued + len(inserted)


def _requeue_reopened(
    session: Session, channel: Channel, now: dt.datetime, digest_at: dt.datetime
) -> int:
    """Queue again the skipped deliveries whose finding is open again in the
    same episode: snoozed before its alert went out, its snooze has ended, and
    its episode (kept through a snooze) would otherwise never be alerted."""
    reopened = (
        select(FindingRow.id)
        .where(
            FindingRow.id == Delivery.finding_id,
            FindingRow.episode == Delivery.episode,
            FindingRow.status == OPEN,
            FindingRow.severity.in_(admitted(channel.min_severity)),
        )
        .exists()
    )
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.channel_id == channel.id,
            Delivery.status == DeliveryStatus.SKIPPED.value,
            reopened,
        )
        .values(
            status=DeliveryStatus.PENDING.value,
            attempts=0,
            last_error=None,
            next_attempt_at=case(
                (Delivery.timing == Timing.IMMEDIATE.value, now), else_=digest_at
            ),
        ),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def retry_failed(session: Session, channel_id: int, now: dt.datetime) -> int:
    """The channel's failed deliveries due again now, with a fresh retry plan;
    how many. For once a test message shows the channel works again: what
    failed while it was down is not lost for good. A finding no longer open
    by then is skipped by the round, as any other."""
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.channel_id == channel_id,
            Delivery.status == DeliveryStatus.FAILED.value,
        )
        .values(
            status=DeliveryStatus.PENDING.value,
            attempts=0,
            next_attempt_at=now,
            claim_token=None,
            claimed_until=None,
        ),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _claimable(now: dt.datetime) -> Any:
    return and_(
        Delivery.status == DeliveryStatus.PENDING.value,
        Delivery.next_attempt_at <= now,
        or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now),
    )


def claim(
    session: Session,
    *,
    channel_id: int,
    timing: Timing,
    token: str,
    now: dt.datetime,
    lease: dt.timedelta,
    limit: int,
) -> int:
    """Stamp up to `limit` due rows with `token`; how many. Commit before sending."""
    due = (
        select(Delivery.id)
        .where(
            Delivery.channel_id == channel_id,
            Delivery.timing == timing.value,
            _claimable(now),
        )
        .order_by(Delivery.id)
        .limit(limit)
        .scalar_subquery()
    )
    result = session.execute(
        update(Delivery)
        # The conditions again on the row itself: PostgreSQL re-checks them
        # after waiting for a concurrent claimer, which then wins alone.
        .where(Delivery.id.in_(due), _claimable(now))
        .values(claim_token=token, claimed_until=now + lease),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def renew(session: Session, ids: Sequence[int], token: str, until: dt.datetime) -> int:
    """Extend the claim on `ids` still held with `token` to `until`; how many.

    Called right before each send with the send's worst case: a second server
    cannot take the rows over while the first is still sending them."""
    result = session.execute(
        update(Delivery).where(_mine(ids, token)).values(claimed_until=until),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# The start of a failure's last_error when the receiver refused that message
# only (an HTTP 400, an SMTP 554 to its content): the channel is up. Stored in
# the error, which users read anyway, rather than in a column of its own.
MESSAGE_REFUSED = "message refused: "


def backing_off(session: Session, channel_id: int, now: dt.datetime) -> bool:
    """True while the channel's earliest retry after a failure is still ahead:
    the channel was down at its last try and its backoff has not passed. A
    message the receiver refused by itself (MESSAGE_REFUSED) waits alone."""
    retry_at = session.scalar(
        select(func.min(Delivery.next_attempt_at)).where(
            Delivery.channel_id == channel_id,
            Delivery.status == DeliveryStatus.PENDING.value,
            Delivery.attempts > 0,
            Delivery.last_error.is_not(None),
            Delivery.last_error.not_like(MESSAGE_REFUSED + "%"),
        )
    )
    return retry_at is not None and _aware(retry_at) > now


def _aware(moment: dt.datetime) -> dt.datetime:
    # An aggregate may come back naive (SQLite): the column stores UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A claimed delivery with what its message needs."""

    delivery_id: int
    finding_id: int
    episode: int
    attempts: int
    still_open: bool
    integration: str
    rule: str
    severity: str
    title: str
    subject: str
    evidence: dict[str, Any]


def _rank(severity: Any) -> Any:
    return case({name: n for n, name in enumerate(SEVERITIES)}, value=severity)


def claimed(session: Session, token: str) -> list[Claimed]:
    rows = session.execute(
        select(
            Delivery.id,
            Delivery.finding_id,
            Delivery.episode,
            Delivery.attempts,
            FindingRow.status,
            FindingRow.episode,
            IntegrationRow.name,
            FindingRow.rule,
            FindingRow.severity,
            FindingRow.title,
            FindingRow.subject_label,
            FindingRow.evidence,
        )
        .join(FindingRow, FindingRow.id == Delivery.finding_id)
        .join(IntegrationRow, IntegrationRow.id == FindingRow.integration_id)
        .where(Delivery.claim_token == token)
        # A digest lists each integration's findings, most severe first.
        .order_by(IntegrationRow.name, _rank(FindingRow.severity), Delivery.id)
    )
    return [
        Claimed(
            delivery_id=r[0],
            finding_id=r[1],
            episode=r[2],
            attempts=r[3],
            still_open=r[4] == OPEN and r[5] == r[2],
            integration=r[6],
            rule=r[7],
            severity=r[8],
            title=r[9],
            subject=r[10],
            evidence=dict(r[11] or {}),
        )
        for r in rows
    ]


def _mine(ids: Sequence[int], token: str) -> Any:
    return and_(Delivery.id.in_(ids), Delivery.claim_token == token)


def finish_sent(
    session: Session, ids: Sequence[int], token: str, now: dt.datetime
) -> None:
    session.execute(
        update(Delivery)
        .where(_mine(ids, token))
        .values(
            status=DeliveryStatus.SENT.value,
            attempts=Delivery.attempts + 1,
            sent_at=now,
            claim_token=None,
            claimed_until=None,
            last_error=None,
        ),
        execution_options={"synchronize_session": False},
    )


def finish_skipped(session: Session, ids: Sequence[int], token: str) -> None:
    session.execute(
        update(Delivery)
        .where(_mine(ids, token))
        .values(
            status=DeliveryStatus.SKIPPED.value, claim_token=None, claimed_until=None
        ),
        execution_options={"synchronize_session": False},
    )


def release(session: Session, ids: Sequence[int], token: str) -> None:
    """Give claimed rows back untried: due again at once, attempts unchanged."""
    session.execute(
        update(Delivery)
        .where(_mine(ids, token))
        .values(claim_token=None, claimed_until=None),
        execution_options={"synchronize_session": False},
    )


def finish_failed(
    session: Session,
    ids: Sequence[int],
    token: str,
    *,
    error: str,
    attempts: int,
    now: dt.datetime,
    plan: RetryPlan,
    message_only: bool = False,
) -> bool:
    """Record the `attempts`-th failure: retry later, or give up. True: gave up.

    `message_only`: the receiver refused these messages, not everything, so
    the channel's other messages do not wait for their retry."""
    gave_up = attempts >= plan.max_attempts
    if message_only:
        error = MESSAGE_REFUSED + error
    session.execute(
        update(Delivery)
        .where(_mine(ids, token))
        .values(
            status=(DeliveryStatus.FAILED if gave_up else DeliveryStatus.PENDING).value,
            attempts=attempts,
            next_attempt_at=now + plan.delay(attempts),
            claim_token=None,
            claimed_until=None,
            last_error=error[:500],
        ),
        execution_options={"synchronize_session": False},
    )
    return gave_up


def delivery_counts(
    session: Session, channel_id: int | None = None
) -> dict[int, DeliveryCounts]:
    """Each channel's deliveries by state, with its last error and last send;
    only `channel_id`'s when given."""
    scope = true() if channel_id is None else Delivery.channel_id == channel_id
    counted: dict[int, dict[str, int]] = {}
    tried = func.sum(case((Delivery.attempts > 0, 1), else_=0))
    rows = session.execute(
        select(Delivery.channel_id, Delivery.status, func.count(), tried)
        .where(scope)
        .group_by(Delivery.channel_id, Delivery.status)
    )
    for channel_id, status, count, retried in rows:
        bucket = counted.setdefault(channel_id, {})
        if status == DeliveryStatus.PENDING:
            # Pending after a failure: waiting for its next try.
            bucket["retrying"] = int(retried or 0)
            bucket["pending"] = int(count) - bucket["retrying"]
        else:
            bucket[status] = int(count)
    last_sent = dict(
        session.execute(
            select(Delivery.channel_id, func.max(Delivery.sent_at))
            .where(scope)
            .group_by(Delivery.channel_id)
        ).all()
    )
    last_errors: dict[int, str | None] = {}
    failing = session.execute(
        select(Delivery.channel_id, Delivery.last_error)
        .where(
            scope,
            Delivery.last_error.is_not(None),
            Delivery.status.in_(
                [DeliveryStatus.PENDING.value, DeliveryStatus.FAILED.value]
            ),
        )
        .order_by(Delivery.next_attempt_at)
    )
    for channel_id, error in failing:
        last_errors[channel_id] = error
    return {
        channel_id: DeliveryCounts(
            pending=bucket.get("pending", 0),
            retrying=bucket.get("retrying", 0),
            sent=bucket.get("sent", 0),
            skipped=bucket.get("skipped", 0),
            failed=bucket.get("failed", 0),
            last_error=last_errors.get(channel_id),
            last_sent_at=last_sent.get(channel_id),
        )
        for channel_id, bucket in counted.items()
    }
