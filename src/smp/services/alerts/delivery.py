"""One round of alert delivery: queue new findings, send what is due, once.

Run by `smp serve`'s scheduler and by the Celery beat task (smp.runtime.
alerting) every minute or so; any number may run at once, on any number of
servers: the claim in smp.storage.alerts gives each delivery to one of them.
High severity goes out in the first round after the evaluation that opened
it; the rest waits for the daily digest, one message per channel.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from smp.model.alerts import AlertItem, Channel, RetryPlan, Timing
from smp.services.alerts.messages import Batch
from smp.services.alerts.senders import (
    DeliveryFailed,
    channel_timeout,
    send,
    session_limit_s,
)
from smp.storage import MasterKeyError, SecretBox, read_session
from smp.storage import alerts as store
from smp.storage.secrets import channel_mismatch

log = logging.getLogger(__name__)

DEFAULT_DIGEST_HOUR = 8
# A claim's first lease: from the claim to the first send's renewal, a few
# database round trips. Before each send the claim is renewed for the send's
# worst case plus SEND_MARGIN (`send_lease`): a claim is only taken over when
# its holder surely died, however slow the channel.
CLAIM_LEASE = dt.timedelta(minutes=5)
SEND_MARGIN = dt.timedelta(seconds=30)
# Immediate alerts claimed per channel and round; a digest lists up to this.
IMMEDIATE_BATCH = 20
DIGEST_LIMIT = 500
# A round claims nothing new after this long: the rest waits for the next
# round, whose `now` is fresh. So a claim's `now` is at most this plus one
# send old, well inside the lease, and a webhook's timestamp stays recent.
ROUND_BUDGET_S = 60.0


def send_lease(channel: Channel) -> dt.timedelta:
    """Longer than one send over `channel` can take: the senders cut a send off
    at `session_limit_s` of the channel's timeout, plus a margin for the
    database writes around it and clocks that drift a little between servers."""
    return dt.timedelta(seconds=session_limit_s(channel_timeout(channel))) + SEND_MARGIN


class AlertSettingError(ValueError):
    """A setting of the environment that alerts cannot run with."""


def _no_steps(rule: str) -> tuple[str, ...]:
    del rule
    return ()


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """Where links point, when the digest goes, how failures are retried."""

    # The address users open SMP at; None: alerts carry no link.
    public_url: str | None = None
    digest_hour: int = DEFAULT_DIGEST_HOUR
    plan: RetryPlan = field(default_factory=RetryPlan)
    lease: dt.timedelta = CLAIM_LEASE
    # The fix steps of a rule, by id (the findings' rule registry).
    fix_steps: Callable[[str], tuple[str, ...]] = _no_steps

    @classmethod
    def from_environment(
        cls, fix_steps: Callable[[str], tuple[str, ...]] = _no_steps
    ) -> AlertSettings:
        """SMP_PUBLIC_URL (an http(s) address) and SMP_ALERT_DIGEST_HOUR
        (0-23, UTC; default 8)."""
        url = _public_url(os.environ.get("SMP_PUBLIC_URL", ""))
        raw = os.environ.get("SMP_ALERT_DIGEST_HOUR", "").strip()
        hour = DEFAULT_DIGEST_HOUR
        if raw:
            if not raw.isdigit() or not 0 <= int(raw) <= 23:
                raise AlertSettingError(
                    "SMP_ALERT_DIGEST_HOUR must be an hour from 0 to 23"
                )
            hour = int(raw)
        return cls(public_url=url, digest_hour=hour, fix_steps=fix_steps)

    def link(self, finding_id: int) -> str | None:
        """The finding's page, `/findings/ID` under the public address."""
        if not self.public_url:
            return None
        return f"{self.public_url.rstrip('/')}/findings/{finding_id}"


# RFC 3986's characters (a %XX escape included) less those that end a link
# in a message: ")" in Teams' [label](url), "|" and ">" in Slack's <url|label>
# ("<", a space and anything not ASCII are not in RFC 3986 at all). "?" and
# "#" are refused above: the finding's path is appended to the address.
_LINK_SAFE = re.compile(r"(?:[A-Za-z0-9\-._~:/@!$&'*+,;=\[\]]|%[0-9A-Fa-f]{2})+")


def _public_url(raw: str) -> str | None:
    """A link in an alert is opened elsewhere: it must be a whole http(s) address."""
    text = raw.strip()
    if not text:
        return None
    parts = urlsplit(text)
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or parts.query
        or "#" in text
        or not _LINK_SAFE.fullmatch(text)
    ):
        raise AlertSettingError(
            "SMP_PUBLIC_URL must be the http(s) address users open SMP at, "
            "e.g. https://smp.example.com"
        )
    return text


@dataclass(slots=True)
class RoundReport:
    queued: int = 0
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    gave_up: int = 0
    errors: list[str] = field(default_factory=list)
    # True when the round ran out of time and left due work to the next one.
    deferred: bool = False


def _item(found: store.Claimed, settings: AlertSettings) -> AlertItem:
    return AlertItem(
        finding_id=found.finding_id,
        episode=found.episode,
        integration=found.integration,
        rule=found.rule,
        severity=found.severity,
        title=found.title,
        subject=found.subject,
        evidence=found.evidence,
        fix=settings.fix_steps(found.rule),
        link=settings.link(found.finding_id),
    )


async def deliver_due(
    engine: Engine,
    box: SecretBox,
    now: dt.datetime,
    settings: AlertSettings,
    *,
    monotonic: Callable[[], float] = time.monotonic,
) -> RoundReport:
    """Queue what opened since the last round, then send what is due.

    `now` is when the round starts; `monotonic` measures how long it has run
    (the budget, and the time each send and failure is recorded at)."""
    report = RoundReport()
    with read_session(engine) as session:
        channels = store.list_channels(session)
    if not channels:  # no write transaction (SQLite's one writer) for nothing
        return report
    with Session(engine) as session, session.begin():
        for channel in channels:
            report.queued += store.queue_new_findings(
                session, channel, now, digest_hour=settings.digest_hour
            )
    started = monotonic()
    for channel in channels:
        elapsed = dt.timedelta(seconds=monotonic() - started)
        if elapsed >= dt.timedelta(seconds=ROUND_BUDGET_S):
            report.deferred = True
            break
        try:
            secret = channel_secret(engine, box, channel)
        except MasterKeyError as error:  # the message names the channel
            report.errors.append(str(error))
            continue
        with read_session(engine) as session:
            waiting = store.backing_off(session, channel.id, now + elapsed)
        if waiting:
            # Down at its last try: nothing goes to it before that retry is
            # due, new alerts included, so a dead channel costs one try per
            # backoff step, not one per round and kind.
            continue
        sending = _ChannelRound(
            engine, channel, secret, now, settings, report, started, monotonic
        )
        while await sending.immediate():
            pass
        if not sending.failed:  # one failed try a round is enough
            await sending.digest()
    return report


@dataclass(slots=True)
class _ChannelRound:
    """One channel's part of a round: claim, send, record."""

    engine: Engine
    channel: Channel
    secret: dict[str, str]
    now: dt.datetime
    settings: AlertSettings
    report: RoundReport
    started: float
    monotonic: Callable[[], float]
    failed: bool = False

    def in_budget(self) -> bool:
        return self.monotonic() - self.started < ROUND_BUDGET_S

    async def immediate(self) -> bool:
        """Send one claimed batch, one message each; True if more may be due.

        After a failure of the channel (not of one refused message), or past
        the round's budget, the rest of the batch is released untried: a
        channel that is down costs one timeout a round, and no claim is held
        longer than a send.
        """
        if not self.in_budget():
            self.report.deferred = True
            return False
        claimed = self._claim(Timing.IMMEDIATE, IMMEDIATE_BATCH)
        if claimed is None:
            return False
        token, live, got = claimed
        for index, one in enumerate(live):
            # A message refused by itself does not stop the others.
            if not await self._send("alert", [one], token) and self.failed:
                self._release(live[index + 1 :], token)
                return False
            if not self.in_budget():
                self._release(live[index + 1 :], token)
                self.report.deferred = True
                return False
        return got == IMMEDIATE_BATCH

    async def digest(self) -> None:
        """All due digest rows of the channel in one message."""
        if not self.in_budget():  # the next round sends it, freshly stamped
            self.report.deferred = True
            return
        claimed = self._claim(Timing.DIGEST, DIGEST_LIMIT)
        if claimed is None:
            return
        token, live, _ = claimed
        if live:
            await self._send("digest", live, token)

    def _claim(
        self, timing: Timing, limit: int
    ) -> tuple[str, list[store.Claimed], int] | None:
        """Claim due rows; skip those no longer open. None when none was due."""
        token = secrets.token_hex(16)
        with Session(self.engine) as session, session.begin():
            got = store.claim(
                session,
                channel_id=self.channel.id,
                timing=timing,
                token=token,
                now=self.now,
                lease=self.settings.lease,
                limit=limit,
            )
        if not got:
            return None
        with Session(self.engine) as session:
            found = store.claimed(session, token)
        gone = [f.delivery_id for f in found if not f.still_open]
        if gone:
            with Session(self.engine) as session, session.begin():
                store.finish_skipped(session, gone, token)
            self.report.skipped += len(gone)
        return token, [f for f in found if f.still_open], got

    def _release(self, rows: list[store.Claimed], token: str) -> None:
        if rows:
            with Session(self.engine) as session, session.begin():
                store.release(session, [row.delivery_id for row in rows], token)

    def clock(self) -> dt.datetime:
        """The round's `now` moved on by the time the round has taken."""
        return self.now + dt.timedelta(seconds=self.monotonic() - self.started)

    def _renew(self, ids: list[int], token: str) -> bool:
        """Hold the claim for this send's worst case; False if it was lost."""
        until = self.clock() + send_lease(self.channel)
        with Session(self.engine) as session, session.begin():
            held = store.renew(session, ids, token, until)
            if held == len(ids):
                return True
            # Taken over (this process stalled past the lease): the new holder
            # sends them; give back the rest untried.
            store.release(session, ids, token)
        log.warning(
            "alert channel %s: a claim expired before its send", self.channel.name
        )
        return False

    async def _send(self, kind: str, rows: list[store.Claimed], token: str) -> bool:
        ids = [row.delivery_id for row in rows]
        attempts = max(row.attempts for row in rows) + 1
        if not self._renew(ids, token):
            self.failed = True
            return False
        # Stamped when it goes, not when the round started: a webhook's
        # receiver refuses a timestamp more than five minutes off.
        items = tuple(_item(one, self.settings) for one in rows)
        batch = Batch(kind, items, self.clock(), self.channel.name)
        try:
            await send(self.channel, self.secret, batch)
        except DeliveryFailed as error:
            self._failed(ids, token, error, attempts)
            return False
        except Exception as error:  # a bug must not hold the rows claimed
            log.error(
                "alert channel %s: sending failed: %s",
                self.channel.name,
                type(error).__name__,
            )
            failed = DeliveryFailed(f"SMP could not send it ({type(error).__name__})")
            self._failed(ids, token, failed, attempts)
            return False
        with Session(self.engine) as session, session.begin():
            store.finish_sent(session, ids, token, self.clock())
        self.report.sent += len(ids)
        return True

    def _failed(
        self, ids: list[int], token: str, error: DeliveryFailed, attempts: int
    ) -> None:
        plan = self.settings.plan
        # Only a channel that is down (or refuses everything) stops the round
        # and backs off as a whole; a refused message backs off alone.
        self.failed = self.failed or not error.message_only
        with Session(self.engine) as session, session.begin():
            gave_up = store.finish_failed(
                session,
                ids,
                token,
                error=str(error),
                attempts=attempts,
                # The backoff counts from the failure, however long it took.
                now=self.clock(),
                plan=plan,
                message_only=error.message_only,
            )
        self.report.failed += len(ids)
        self.report.gave_up += len(ids) if gave_up else 0
        self.report.errors.append(f"{self.channel.name}: {error}")
        log.warning(
            "alert channel %s: %s (attempt %d of %d%s)",
            self.channel.name,
            error,
            attempts,
            plan.max_attempts,
            ", gave up" if gave_up else "",
        )


def channel_secret(engine: Engine, box: SecretBox, channel: Channel) -> dict[str, Any]:
    """The channel's decrypted settings; MasterKeyError names the channel.

    Every sender (alerts, reminders) goes through here, so a secret that does
    not decrypt always says which channel and what to do.
    """
    with Session(engine) as session:
        token = store.channel_secret(session, channel.id)
    decoded: dict[str, Any] = json.loads(
        box.decrypt(token, mismatch=channel_mismatch(channel.name))
    )
    return decoded
