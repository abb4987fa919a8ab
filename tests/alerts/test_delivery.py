"""Alert delivery against real receivers: exact content, the HMAC, once only
with two deliverers at once, retries with backoff, timeouts and refusals.

Times are fixed instants (START, just before a year's end); each round is
given its `now` and a clock for how long it runs, so backoff and the digest
hour are tested without sleeping and without depending on today.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session
from tests.support.alert_receivers import (
    HttpReceiver,
    SmtpHandler,
    Tls,
    smtp_server,
)

from smp.model import Integration
from smp.model.alerts import RetryPlan
from smp.model.rules_registry import BY_ID
from smp.runtime.alerting import AlertRounds
from smp.services.alerts import delivery, manage
from smp.services.alerts.channels import ChannelOptions
from smp.services.alerts.delivery import AlertSettings, RoundReport, deliver_due
from smp.storage import SecretBox, read_session
from smp.storage import alerts as store
from smp.storage.tables import AlertChannelRow, AlertDeliveryRow, FindingRow

pytestmark = pytest.mark.loopback

BOX = SecretBox.from_key(Fernet.generate_key())
HMAC_SECRET = "s3cret-for-the-receiver-only"
FIX = ("Open Settings > Teammates in SendGrid", "Delete the teammate")
PLAN = RetryPlan(first_s=60, cap_s=600, max_attempts=3)
DIGEST_HOUR = 7
# After the digest hour on the year's last day: the next digest is next year's.
START = dt.datetime(2026, 12, 31, 22, 30, tzinfo=dt.UTC)
SETTINGS = AlertSettings(
    public_url="https://smp.example.com/",
    digest_hour=DIGEST_HOUR,
    plan=PLAN,
    fix_steps=lambda rule: FIX if rule == "leaver_teammate" else (),
)


@pytest.fixture(scope="module")
def mailbox(tls: Tls) -> Iterator[tuple[SmtpHandler, int]]:
    handler = SmtpHandler()
    with smtp_server(tls, handler) as port:
        yield handler, port


@pytest.fixture(autouse=True)
def clean(
    engine: Engine,
    receiver: HttpReceiver,
    mailbox: tuple[SmtpHandler, int],
    tls: Tls,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each test starts with no channel and no finding, and trusts the test CA."""
    monkeypatch.setenv("SMP_CA_BUNDLE", str(tls.ca_file))
    monkeypatch.setenv("SMP_PROXY", "none")  # the receivers are on loopback
    with Session(engine) as session, session.begin():
        session.execute(delete(AlertChannelRow))
        session.execute(delete(FindingRow))
    receiver.reset()
    mailbox[0].received.clear()
    mailbox[0].refuse_with = None
    mailbox[0].data_replies.clear()


def at(minutes: float) -> dt.datetime:
    return START + dt.timedelta(minutes=minutes)


def add_finding(
    engine: Engine,
    integration: Integration,
    *,
    severity: str,
    subject: str,
    opened: dt.datetime,
    rule: str = "leaver_teammate",
) -> int:
    with Session(engine) as session, session.begin():
        row = FindingRow(
            integration_id=integration.id,
            rule=rule,
            subject_key=subject,
            subject_label=subject,
            severity=severity,
            status="open",
            title=f"Leaver still a teammate: {subject}",
            evidence={"email": subject, "left_on": "2026-01-31", "roles": ["admin"]},
            first_seen=opened,
            last_seen=opened,
            episode=1,
            episode_opened_at=opened,
            status_changed_at=opened,
        )
        session.add(row)
        session.flush()
        return row.id


def set_finding(engine: Engine, finding_id: int, **values: object) -> None:
    with Session(engine) as session, session.begin():
        session.execute(
            update(FindingRow).where(FindingRow.id == finding_id).values(**values)
        )


def add_channel(
    engine: Engine, name: str, created: dt.datetime = START, **options: object
) -> None:
    manage.add_channel(
        engine,
        BOX,
        name,
        ChannelOptions(**options),  # type: ignore[arg-type]
        created_by=None,
        now=created,
    )


def channel_id(engine: Engine, name: str) -> int:
    return manage.find_channel(engine, name).id


def next_digest(after: dt.datetime) -> dt.datetime:
    digest_at = after.replace(hour=DIGEST_HOUR, minute=0, second=0)
    return digest_at if digest_at > after else digest_at + dt.timedelta(days=1)


class Clock:
    """A round's monotonic clock that moves only when the test moves it."""

    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds

    def wait(self, seconds: float) -> Callable[[], None]:
        def move() -> None:
            self.seconds += seconds

        return move


def round_at(
    engine: Engine, now: dt.datetime, clock: Callable[[], float] | None = None
) -> RoundReport:
    return asyncio.run(
        deliver_due(engine, BOX, now, SETTINGS, monotonic=clock or Clock())
    )


def statuses(engine: Engine) -> list[tuple[str, int, str | None]]:
    with read_session(engine) as session:
        rows = session.execute(
            AlertDeliveryRow.__table__.select().order_by(AlertDeliveryRow.id)
        ).all()
    return [(r.status, r.attempts, r.last_error) for r in rows]


def test_a_high_finding_goes_at_once_to_every_kind_with_exact_content(
    engine: Engine,
    new_integration: Integration,
    receiver: HttpReceiver,
    mailbox: tuple[SmtpHandler, int],
) -> None:
    handler, smtp_port = mailbox
    add_channel(
        engine,
        "hook",
        kind="webhook",
        url=receiver.url("/hook/T0KEN"),
        hmac_secret=HMAC_SECRET,
    )
    add_channel(engine, "slack", kind="slack", url=receiver.url("/slack/T0KEN"))
    add_channel(engine, "teams", kind="teams", url=receiver.url("/teams/T0KEN"))
    add_channel(
        engine,
        "mail",
        kind="email",
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        sender="smp@example.com",
        recipients=("secops@example.com",),
    )
    subject = "ann<&>@example.com"
    finding = add_finding(
        engine, new_integration, severity="high", subject=subject, opened=at(1)
    )
    sent = round_at(engine, at(2))
    assert (sent.sent, sent.failed) == (4, 0), sent.errors

    name = new_integration.name
    title = f"Leaver still a teammate: {subject}"
    link = f"https://smp.example.com/findings/{finding}"
    evidence_line = "email: ann<&>@example.com; left_on: 2026-01-31; roles: admin"
    by_path = {p.path: p for p in receiver.posted}
    assert sorted(by_path) == ["/hook/T0KEN", "/slack/T0KEN", "/teams/T0KEN"]

    hook = by_path["/hook/T0KEN"]
    stamp = hook.headers["X-SMP-Timestamp"]
    assert stamp == str(int(at(2).timestamp()))
    expected_mac = hmac.new(
        HMAC_SECRET.encode(), stamp.encode() + b"." + hook.body, hashlib.sha256
    ).hexdigest()
    assert hook.headers["X-SMP-Signature"] == f"sha256={expected_mac}"
    assert hook.headers["X-SMP-Event-Id"] == f"finding-{finding}-episode-1"
    assert json.loads(hook.body) == {
        "event": "finding.opened",
        "channel": "hook",
        "sent_at": at(2).isoformat(),
        "findings": [
            {
                "id": finding,
                "episode": 1,
                "event_id": f"finding-{finding}-episode-1",
                "integration": name,
                "rule": "leaver_teammate",
                "severity": "high",
                "title": title,
                "subject": subject,
                "evidence": {
                    "email": subject,
                    "left_on": "2026-01-31",
                    "roles": ["admin"],
                },
                "fix": list(FIX),
                "link": link,
            }
        ],
    }

    heading = f"SMP high finding: {title}"
    assert json.loads(by_path["/slack/T0KEN"].body) == {
        "text": (
            "SMP high finding: Leaver still a teammate: ann&lt;&amp;&gt;@example.com"
        ),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": heading}},
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": (
                        "*[HIGH] Leaver still a teammate: "
                        "ann&lt;&amp;&gt;@example.com*\n"
                        f"Integration: {name}\n"
                        "Subject: ann&lt;&amp;&gt;@example.com\n"
                        "Evidence: email: ann&lt;&amp;&gt;@example.com; "
                        "left_on: 2026-01-31; roles: admin\n"
                        "Fix:\n"
                        "  1. Open Settings &gt; Teammates in SendGrid\n"
                        "  2. Delete the teammate\n"
                        f"<{link}|Open in SMP>"
                    ),
                },
            },
        ],
    }

    teams = json.loads(by_path["/teams/T0KEN"].body)
    assert teams["type"] == "message"
    [attachment] = teams["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    assert card["body"] == [
        {
            "type": "TextBlock",
            "text": r"SMP high finding: Leaver still a teammate: ann\<&\>@example.com",
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        },
        {
            "type": "TextBlock",
            "text": r"\[HIGH\] Leaver still a teammate: ann\<&\>@example.com",
            "weight": "Bolder",
            "wrap": True,
            "separator": True,
        },
        {
            "type": "FactSet",
            "facts": [
                {"title": "Integration", "value": name},
                {"title": "Severity", "value": "high"},
                {"title": "Subject", "value": r"ann\<&\>@example.com"},
                {
                    "title": "Evidence",
                    "value": r"email: ann\<&\>@example.com; left\_on: 2026-01-31; "
                    "roles: admin",
                },
            ],
        },
        {
            "type": "TextBlock",
            "text": (
                "1. Open Settings \\> Teammates in SendGrid\n2. Delete the teammate"
            ),
            "wrap": True,
        },
        {"type": "TextBlock", "text": f"[Open in SMP]({link})", "wrap": True},
    ]

    [mail] = handler.received
    assert mail.over_tls, "the message went before STARTTLS"
    assert (mail.sender, mail.recipients) == (
        "smp@example.com",
        ["secops@example.com"],
    )
    # SMTP carries CRLF line ends; the text compared has "\n".
    wire = mail.data.replace(b"\r\n", b"\n")
    parsed = email.message_from_bytes(wire, policy=email.policy.default)
    assert parsed["Subject"] == f"[SMP] high: {title} ({name})"
    assert parsed["To"] == "secops@example.com"
    assert f"finding-{finding}-episode-1" in parsed["Message-ID"]
    assert parsed.get_content() == (
        f"{heading}\n\n"
        f"[HIGH] {title}\n"
        f"Integration: {name}\n"
        f"Subject: {subject}\n"
        f"Evidence: {evidence_line}\n"
        "Fix:\n"
        "  1. Open Settings > Teammates in SendGrid\n"
        "  2. Delete the teammate\n"
        f"Open in SMP: {link}\n"
    )

    again = round_at(engine, at(3))
    assert (again.sent, len(receiver.posted), len(handler.received)) == (0, 3, 1)


def _round_in_thread(engine: Engine, now: dt.datetime, out: list[RoundReport]) -> None:
    out.append(asyncio.run(deliver_due(engine, BOX, now, SETTINGS)))


def test_two_deliverers_at_once_send_each_finding_once_and_a_return_again(
    engine: Engine, new_integration: Integration, receiver: HttpReceiver
) -> None:
    add_channel(
        engine, "hook", kind="webhook", url=receiver.url(), hmac_secret=HMAC_SECRET
    )
    ids = [
        add_finding(
            engine,
            new_integration,
            severity="high",
            subject=f"u{n}@example.com",
            opened=at(1),
        )
        for n in range(5)
    ]
    reports: list[RoundReport] = []
    threads = [
        threading.Thread(target=_round_in_thread, args=(engine, at(2), reports))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sum(r.sent for r in reports) == 5
    events = sorted(p.headers["X-SMP-Event-Id"] for p in receiver.posted)
    assert events == sorted(f"finding-{i}-episode-1" for i in ids)

    # Resolved, then back: a new episode alerts again, the old one never.
    set_finding(engine, ids[0], status="resolved", resolved_at=at(3))
    assert round_at(engine, at(4)).sent == 0
    set_finding(engine, ids[0], status="open", episode=2, episode_opened_at=at(5))
    assert round_at(engine, at(6)).sent == 1
    assert receiver.posted[-1].headers["X-SMP-Event-Id"] == (
        f"finding-{ids[0]}-episode-2"
    )
    assert round_at(engine, at(7)).sent == 0
    assert len(receiver.posted) == 6


def test_a_500_is_retried_with_backoff_then_sent(
    engine: Engine, new_integration: Integration, receiver: HttpReceiver
) -> None:
    add_channel(engine, "slack", kind="slack", url=receiver.url())
    add_finding(
        engine, new_integration, severity="high", subject="a@example.com", opened=at(1)
    )
    receiver.replies[:] = [500]
    first = round_at(engine, at(2))
    where = f"127.0.0.1:{receiver.port}"
    assert first.errors == [
        f"slack: {where} answered 500 Internal Server Error: no_service"
    ]
    assert statuses(engine) == [
        ("pending", 1, f"{where} answered 500 Internal Server Error: no_service")
    ]
    # The first retry waits PLAN.first_s (60 s), not less.
    assert round_at(engine, at(2) + dt.timedelta(seconds=59)).sent == 0
    assert round_at(engine, at(3)).sent == 1
    assert statuses(engine) == [("sent", 2, None)]
    assert len(receiver.posted) == 2
    with read_session(engine) as session:
        [counts] = store.delivery_counts(session).values()
    assert (counts.sent, counts.pending, counts.retrying, counts.failed) == (1, 0, 0, 0)


def test_a_receiver_that_echoes_the_path_cannot_leak_the_token(
    engine: Engine, new_integration: Integration, receiver: HttpReceiver
) -> None:
    """The error is stored, logged and listed: the URL's token stays out."""
    token = "T0KEN%2Fs3cr3t"
    add_channel(engine, "slack", kind="slack", url=receiver.url(f"/hook/{token}?k=v9"))
    add_finding(
        engine, new_integration, severity="high", subject="e@example.com", opened=at(1)
    )
    receiver.replies[:] = ["echo"]
    echoed = round_at(engine, at(2))
    [posted] = receiver.posted
    assert posted.path == f"/hook/{token}?k=v9"  # what the receiver quoted
    error = f"127.0.0.1:{receiver.port} answered 404 Not Found: Cannot POST …"
    assert echoed.errors == [f"slack: {error}"]
    assert statuses(engine) == [("pending", 1, error)]
    for shown in (token, "T0KEN", "s3cr3t", "hook/"):
        assert shown not in str(manage.channel_statuses(engine))


def test_a_hanging_webhook_times_out_and_is_retried(
    engine: Engine, new_integration: Integration, receiver: HttpReceiver
) -> None:
    add_channel(
        engine,
        "hook",
        kind="webhook",
        url=receiver.url(),
        hmac_secret=HMAC_SECRET,
        timeout_s=0.5,
    )
    add_finding(
        engine, new_integration, severity="high", subject="h@example.com", opened=at(1)
    )
    receiver.replies[:] = ["hang"]
    receiver.hang_s = 1.5
    first = round_at(engine, at(2))
    where = f"127.0.0.1:{receiver.port}"
    assert first.errors == [f"hook: {where} did not answer within 0.5 s"]
    assert statuses(engine) == [("pending", 1, f"{where} did not answer within 0.5 s")]
    assert round_at(engine, at(3)).sent == 1
    # The receiver got both tries; the event id lets it drop the repeat.
    assert len({p.headers["X-SMP-Event-Id"] for p in receiver.posted}) == 1


def test_gives_up_after_the_last_attempt_and_says_so(
    engine: Engine, new_integration: Integration, receiver: HttpReceiver
) -> None:
    add_channel(engine, "teams", kind="teams", url=receiver.url())
    add_finding(
        engine, new_integration, severity="high", subject="g@example.com", opened=at(1)
    )
    receiver.replies[:] = [503, 503, 503]
    reports = [round_at(engine, at(minutes)) for minutes in (2, 3, 5, 9, 20)]
    assert [r.failed for r in reports] == [1, 1, 1, 0, 0]
    assert reports[2].gave_up == 1
    where = f"127.0.0.1:{receiver.port}"
    error = f"{where} answered 503 Service Unavailable: no_service"
    assert statuses(engine) == [("failed", 3, error)]
    [status] = manage.channel_statuses(engine)
    assert (status.deliveries.failed, status.deliveries.last_error) == (1, error)


def test_an_smtp_refusal_is_one_line_and_the_mail_stays_pending(
    engine: Engine,
    new_integration: Integration,
    mailbox: tuple[SmtpHandler, int],
) -> None:
    handler, port = mailbox
    add_channel(
        engine,
        "mail",
        kind="email",
        smtp_host="127.0.0.1",
        smtp_port=port,
        sender="smp@example.com",
        recipients=("secops@example.com",),
    )
    add_finding(
        engine, new_integration, severity="high", subject="r@example.com", opened=at(1)
    )
    handler.refuse_with = "550 5.7.1 Relaying denied"
    first = round_at(engine, at(2))
    error = (
        f"SMTP server 127.0.0.1:{port} refused the recipients "
        "(550 5.7.1 Relaying denied)"
    )
    assert first.errors == [f"mail: {error}"]
    assert statuses(engine) == [("pending", 1, error)]
    handler.refuse_with = None
    assert round_at(engine, at(3)).sent == 1
    assert len(handler.received) == 1


@pytest.mark.parametrize(
    ("start", "digest_at"),
    [
        # Before the digest hour: that same day's digest, on a month's last day.
        (
            dt.datetime(2026, 11, 30, 5, 10, tzinfo=dt.UTC),
            dt.datetime(2026, 11, 30, DIGEST_HOUR, tzinfo=dt.UTC),
        ),
        # After it, on the year's last day: the next day's, in the next year.
        (
            dt.datetime(2026, 12, 31, 22, 30, tzinfo=dt.UTC),
            dt.datetime(2027, 1, 1, DIGEST_HOUR, tzinfo=dt.UTC),
        ),
    ],
)
def test_the_rest_waits_for_one_daily_digest_per_channel(
    engine: Engine,
    new_integration: Integration,
    receiver: HttpReceiver,
    start: dt.datetime,
    digest_at: dt.datetime,
) -> None:
    def at(minutes: float) -> dt.datetime:
        return start + dt.timedelta(minutes=minutes)

    add_channel(
        engine,
        "hook",
        start,
        kind="webhook",
        url=receiver.url(),
        hmac_secret=HMAC_SECRET,
    )
    add_channel(
        engine,
        "pager",
        start,
        kind="slack",
        url=receiver.url("/pager"),
        min_severity="high",
    )
    low = add_finding(
        engine, new_integration, severity="low", subject="l@example.com", opened=at(1)
    )
    medium = add_finding(
        engine,
        new_integration,
        severity="medium",
        subject="m@example.com",
        opened=at(1),
    )
    gone = add_finding(
        engine, new_integration, severity="low", subject="z@example.com", opened=at(1)
    )
    assert round_at(engine, at(2)).sent == 0
    set_finding(engine, gone, status="resolved", resolved_at=at(3))
    assert round_at(engine, digest_at - dt.timedelta(seconds=1)).sent == 0
    done = round_at(engine, digest_at)
    assert (done.sent, done.skipped) == (2, 1)
    [digest] = receiver.posted
    assert digest.path == "/hook/SECRET-TOKEN"
    body = json.loads(digest.body)
    assert body["event"] == "findings.digest"
    # Most severe first, though the low one was found first.
    assert [f["id"] for f in body["findings"]] == [medium, low]
    assert digest.headers["X-SMP-Event-Id"] == (
        f"digest-channel-{channel_id(engine, 'hook')}-{digest_at:%Y%m%dT%H%M%SZ}"
    )
    assert round_at(engine, digest_at + dt.timedelta(days=1)).sent == 0


def alert_and_digest_due(
    engine: Engine, integration: Integration, receiver: HttpReceiver
) -> dt.datetime:
    """A webhook channel with a digest and a high alert both due at the next
    digest hour (returned), the alert sent first."""
    add_channel(
        engine, "hook", kind="webhook", url=receiver.url(), hmac_secret=HMAC_SECRET
    )
    add_finding(
        engine, integration, severity="low", subject="l@example.com", opened=at(1)
    )
    assert round_at(engine, at(2)).sent == 0  # queued for the digest
    digest_at = dt.datetime(2027, 1, 1, DIGEST_HOUR, tzinfo=dt.UTC)
    add_finding(
        engine,
        integration,
        severity="high",
        subject="h@example.com",
        opened=digest_at - dt.timedelta(seconds=1),
    )
    return digest_at


def test_a_digest_past_the_rounds_budget_waits_for_the_next_round(
    engine: Engine, new_integration: Integration, receiver: HttpReceiver
) -> None:
    """An alert that took the round past its budget leaves the digest to the
    next round, which stamps it with its own time."""
    digest_at = alert_and_digest_due(engine, new_integration, receiver)
    clock = Clock()
    receiver.on_post = clock.wait(delivery.ROUND_BUDGET_S + 1)
    late = round_at(engine, digest_at, clock)
    assert (late.sent, late.deferred) == (1, True)
    [alert] = receiver.posted
    assert json.loads(alert.body)["event"] == "finding.opened"
    receiver.on_post = None
    next_round = digest_at + dt.timedelta(minutes=2)
    assert round_at(engine, next_round).sent == 1
    digest = receiver.posted[1]
    assert json.loads(digest.body)["event"] == "findings.digest"
    assert digest.headers["X-SMP-Timestamp"] == str(int(next_round.timestamp()))


def test_a_message_is_stamped_when_it_is_sent_not_when_the_round_began(
    engine: Engine, new_integration: Integration, receiver: HttpReceiver
) -> None:
    """Receivers refuse a timestamp five minutes off (docs/alerts.md): a digest
    sent after a slow alert carries the time it went."""
    digest_at = alert_and_digest_due(engine, new_integration, receiver)
    clock = Clock()
    receiver.on_post = clock.wait(50)  # each send takes 50 s
    assert round_at(engine, digest_at, clock).sent == 2
    alert, digest = receiver.posted
    assert alert.headers["X-SMP-Timestamp"] == str(int(digest_at.timestamp()))
    sent_at = digest_at + dt.timedelta(seconds=50)
    assert digest.headers["X-SMP-Timestamp"] == str(int(sent_at.timestamp()))
    assert json.loads(digest.body)["sent_at"] == "2027-01-01T07:00:50+00:00"
    with read_session(engine) as session:
        sent = session.scalars(
            select(AlertDeliveryRow.sent_at).order_by(AlertDeliveryRow.id)
        ).all()
    # Recorded when each send ended: the alert's after 50 s, the digest's
    # (the older row) after 100 s.
    assert [s.replace(tzinfo=dt.UTC) for s in sent] == [
        dt.datetime(2027, 1, 1, 7, 1, 40, tzinfo=dt.UTC),
        dt.datetime(2027, 1, 1, 7, 0, 50, tzinfo=dt.UTC),
    ]


def test_the_backoff_counts_from_the_failure_not_the_rounds_start(
    engine: Engine, new_integration: Integration, receiver: HttpReceiver
) -> None:
    """A send that fails after 90 s waits the whole first step (60 s) from
    then: no retry 59 s after the failure."""
    add_channel(engine, "slack", kind="slack", url=receiver.url())
    add_finding(
        engine, new_integration, severity="high", subject="a@example.com", opened=at(1)
    )
    receiver.replies[:] = [500]
    clock = Clock()
    receiver.on_post = clock.wait(90)
    assert round_at(engine, at(2), clock).failed == 1
    receiver.on_post = None
    failed_at = at(2) + dt.timedelta(seconds=90)
    assert round_at(engine, failed_at + dt.timedelta(seconds=59)).sent == 0
    assert len(receiver.posted) == 1
    assert round_at(engine, failed_at + dt.timedelta(seconds=60)).sent == 1
    assert statuses(engine) == [("sent", 2, None)]


def test_a_digest_to_channels_named_beyond_ascii_goes_out(
    engine: Engine,
    new_integration: Integration,
    receiver: HttpReceiver,
    mailbox: tuple[SmtpHandler, int],
) -> None:
    """Event ids are built from the channel's id: a name like "Sécurité" in an
    HTTP header or a Message-ID once failed every digest until it was lost."""
    handler, port = mailbox
    add_channel(
        engine, "Sécurité", kind="webhook", url=receiver.url(), hmac_secret=HMAC_SECRET
    )
    add_channel(
        engine,
        "Sécurité mail",
        kind="email",
        smtp_host="127.0.0.1",
        smtp_port=port,
        sender="smp@example.com",
        recipients=("secops@example.com",),
    )
    add_finding(
        engine, new_integration, severity="low", subject="u@example.com", opened=at(1)
    )
    assert round_at(engine, at(2)).sent == 0  # queued for the digest
    digest_at = next_digest(at(2))
    done = round_at(engine, digest_at)
    assert (done.sent, done.failed, done.errors) == (2, 0, [])
    [posted] = receiver.posted
    assert posted.headers["X-SMP-Event-Id"] == (
        f"digest-channel-{channel_id(engine, 'Sécurité')}-{digest_at:%Y%m%dT%H%M%SZ}"
    )
    [mail] = handler.received
    parsed = email.message_from_bytes(mail.data, policy=email.policy.default)
    assert (
        f"digest-channel-{channel_id(engine, 'Sécurité mail')}-"
        in (parsed["Message-ID"])
    )


def test_a_channel_added_later_gets_what_is_open_in_its_first_digest(
    engine: Engine, new_integration: Integration, receiver: HttpReceiver
) -> None:
    old = add_finding(
        engine,
        new_integration,
        severity="high",
        subject="old@example.com",
        opened=START - dt.timedelta(days=3),
    )
    add_channel(
        engine, "hook", kind="webhook", url=receiver.url(), hmac_secret=HMAC_SECRET
    )
    assert round_at(engine, at(1)).sent == 0  # no page for an old finding
    assert round_at(engine, at(60 * 24)).sent == 1
    assert json.loads(receiver.posted[0].body)["findings"][0]["id"] == old


def test_the_servers_scheduler_tick_sends_with_the_rules_fix_steps(
    engine: Engine,
    new_integration: Integration,
    receiver: HttpReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`smp serve`'s tick starts a round (settings from the environment, fix
    steps from the rule registry); a tick during a round starts no other."""
    monkeypatch.setenv("SMP_PUBLIC_URL", "https://smp.example.com")
    add_channel(
        engine, "hook", kind="webhook", url=receiver.url(), hmac_secret=HMAC_SECRET
    )
    rule = BY_ID["leaver_with_access"]
    finding = add_finding(
        engine,
        new_integration,
        severity="high",
        subject="s@example.com",
        opened=at(1),
        rule=rule.id,
    )

    async def tick_twice() -> list[bool]:
        rounds = AlertRounds(engine, BOX)
        started = [rounds.start(at(2)), rounds.start(at(2))]
        await rounds.wait()
        return started

    assert asyncio.run(tick_twice()) == [True, False]
    [posted] = receiver.posted
    [sent] = json.loads(posted.body)["findings"]
    assert sent["fix"] == list(rule.fix)
    assert sent["link"] == f"https://smp.example.com/findings/{finding}"


def test_a_round_past_its_time_budget_leaves_the_rest_to_the_next(
    engine: Engine,
    new_integration: Integration,
    receiver: HttpReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A slow channel cannot make a round send with a stale time or claim."""
    add_channel(
        engine, "hook", kind="webhook", url=receiver.url(), hmac_secret=HMAC_SECRET
    )
    add_finding(
        engine, new_integration, severity="high", subject="b@example.com", opened=at(1)
    )
    monkeypatch.setattr(delivery, "ROUND_BUDGET_S", 0.0)
    late = round_at(engine, at(2))
    assert (late.deferred, late.sent, receiver.posted) == (True, 0, [])
    monkeypatch.setattr(delivery, "ROUND_BUDGET_S", 60.0)
    assert round_at(engine, at(3)).sent == 1


def test_a_message_the_receiver_refuses_backs_off_alone(
    engine: Engine, new_integration: Integration, receiver: HttpReceiver
) -> None:
    """A 400 to one payload says nothing about the others: they go in the same
    round, and a new alert goes before the refused one's retry is due."""
    add_channel(
        engine, "hook", kind="webhook", url=receiver.url(), hmac_secret=HMAC_SECRET
    )
    for name in ("refused", "fine"):
        add_finding(
            engine,
            new_integration,
            severity="high",
            subject=f"{name}@example.com",
            opened=at(1),
        )
    receiver.replies[:] = [400]
    first = round_at(engine, at(2))
    assert (first.sent, first.failed) == (1, 1)
    where = f"127.0.0.1:{receiver.port}"
    error = f"message refused: {where} answered 400 Bad Request: no_service"
    assert statuses(engine) == [("pending", 1, error), ("sent", 1, None)]
    add_finding(
        engine,
        new_integration,
        severity="high",
        subject="new@example.com",
        opened=at(2),
    )
    assert round_at(engine, at(2) + dt.timedelta(seconds=10)).sent == 1
    assert round_at(engine, at(3)).sent == 1  # the refused one's retry, 60 s on
    subjects = [json.loads(p.body)["findings"][0]["subject"] for p in receiver.posted]
    assert subjects == [
        "refused@example.com",
        "fine@example.com",
        "new@example.com",
        "refused@example.com",
    ]


@pytest.mark.parametrize("status", [401, 403, 404, 410, 429, 500, 503])
def test_answers_that_mean_the_channel_is_down_back_off_the_whole_channel(
    engine: Engine, new_integration: Integration, receiver: HttpReceiver, status: int
) -> None:
    add_channel(engine, "slack", kind="slack", url=receiver.url())
    add_finding(
        engine, new_integration, severity="high", subject="a@example.com", opened=at(1)
    )
    receiver.replies[:] = [status]
    assert round_at(engine, at(2)).failed == 1
    add_finding(
        engine, new_integration, severity="high", subject="b@example.com", opened=at(2)
    )
    assert round_at(engine, at(2) + dt.timedelta(seconds=59)).sent == 0
    assert len(receiver.posted) == 1
    assert round_at(engine, at(3)).sent == 2


def test_a_mail_refused_for_its_content_backs_off_alone(
    engine: Engine,
    new_integration: Integration,
    mailbox: tuple[SmtpHandler, int],
) -> None:
    """An SMTP 5xx after DATA refuses that mail; a 4xx there, like a refused
    recipient or login, holds back the whole channel."""
    handler, port = mailbox
    add_channel(
        engine,
        "mail",
        kind="email",
        smtp_host="127.0.0.1",
        smtp_port=port,
        sender="smp@example.com",
        recipients=("secops@example.com",),
    )
    for name in ("refused", "fine"):
        add_finding(
            engine,
            new_integration,
            severity="high",
            subject=f"{name}@example.com",
            opened=at(1),
        )
    handler.data_replies[:] = ["554 5.7.1 Message content rejected"]
    first = round_at(engine, at(2))
    assert (first.sent, first.failed) == (1, 1)
    assert [mail.data.count(b"fine@example.com") > 0 for mail in handler.received] == [
        True
    ]
    handler.data_replies[:] = ["451 4.3.0 Try again later"]
    assert round_at(engine, at(3)).failed == 1
    add_finding(
        engine,
        new_integration,
        severity="high",
        subject="new@example.com",
        opened=at(3),
    )
    assert round_at(engine, at(3) + dt.timedelta(seconds=30)).sent == 0
    assert round_at(engine, at(6)).sent == 2
    assert len(handler.received) == 3


def test_a_channel_that_is_down_costs_one_try_per_round(
    engine: Engine, new_integration: Integration, receiver: HttpReceiver
) -> None:
    add_channel(engine, "slack", kind="slack", url=receiver.url())
    for n in range(3):
        add_finding(
            engine,
            new_integration,
            severity="high",
            subject=f"d{n}@example.com",
            opened=at(1),
        )
    receiver.replies[:] = [502]
    down = round_at(engine, at(2))
    assert (down.failed, down.sent, len(receiver.posted)) == (1, 0, 1)
    where = f"127.0.0.1:{receiver.port}"
    error = f"{where} answered 502 Bad Gateway: no_service"
    # The two not tried are due again untried, not counted as failures.
    assert sorted(statuses(engine)) == [
        ("pending", 0, None),
        ("pending", 0, None),
        ("pending", 1, error),
    ]
    assert round_at(engine, at(3)).sent == 3
    assert len(receiver.posted) == 4


def test_the_celery_beat_task_runs_a_round_on_the_worker(
    engine: Engine,
    new_integration: Integration,
    receiver: HttpReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`smp.deliver_alerts` is scheduled by beat and sends through the worker's
    engine and master key (the task body is called as a worker calls it)."""
    from smp.runtime import celery_app
    from smp.runtime.worker import WorkerRuntime

    schedule = celery_app.app.conf.beat_schedule["smp-deliver-alerts"]
    assert schedule["task"] == "smp.deliver_alerts"
    assert "smp.deliver_alerts" in celery_app.app.tasks
    # The task reads the real clock: the channel was added a minute before
    # the finding opened, and that was just now.
    opened = dt.datetime.now(dt.UTC)
    add_channel(
        engine,
        "hook",
        opened - dt.timedelta(minutes=1),
        kind="webhook",
        url=receiver.url(),
        hmac_secret=HMAC_SECRET,
    )
    add_finding(
        engine, new_integration, severity="high", subject="w@example.com", opened=opened
    )
    runtime = WorkerRuntime(engine, BOX)
    monkeypatch.setattr(celery_app, "worker_runtime", lambda: runtime)
    try:
        assert celery_app._deliver_alerts(None) == 1
        assert celery_app._deliver_alerts(None) == 0
    finally:
        runtime.close(dispose_engine=False)
    assert len(receiver.posted) == 1


def test_a_line_break_from_sendgrid_cannot_add_a_mail_header(
    engine: Engine,
    new_integration: Integration,
    mailbox: tuple[SmtpHandler, int],
) -> None:
    handler, port = mailbox
    add_channel(
        engine,
        "mail",
        kind="email",
        smtp_host="127.0.0.1",
        smtp_port=port,
        sender="smp@example.com",
        recipients=("secops@example.com",),
    )
    evil = "eve\r\nBcc: thief@example.net"
    add_finding(engine, new_integration, severity="high", subject=evil, opened=at(1))
    assert round_at(engine, at(2)).sent == 1
    [mail] = handler.received
    assert mail.recipients == ["secops@example.com"]
    wire = mail.data.replace(b"\r\n", b"\n")
    parsed = email.message_from_bytes(wire, policy=email.policy.default)
    assert parsed["Bcc"] is None
    assert parsed["Subject"] == (
        "[SMP] high: Leaver still a teammate: eve Bcc: thief@example.net "
        f"({new_integration.name})"
    )


def test_a_down_channel_gets_one_try_a_round_with_backoff_for_both_kinds(
    engine: Engine, new_integration: Integration, receiver: HttpReceiver
) -> None:
    """A high alert and a digest both due on a dead channel: one try, not two,
    and nothing more until the backoff has passed."""
    add_channel(engine, "slack", kind="slack", url=receiver.url())
    add_finding(
        engine, new_integration, severity="low", subject="l@example.com", opened=at(1)
    )
    assert round_at(engine, at(2)).sent == 0  # queued for the digest
    digest_at = next_digest(at(2))
    add_finding(
        engine,
        new_integration,
        severity="high",
        subject="h@example.com",
        opened=digest_at - dt.timedelta(seconds=1),
    )
    receiver.replies[:] = [502, 502]
    hits = []
    for seconds in (0, 30, 60, 180):
        before = len(receiver.posted)
        round_at(engine, digest_at + dt.timedelta(seconds=seconds))
        hits.append(len(receiver.posted) - before)
    # Down at 0 s and at its first retry (PLAN.first_s = 60 s); back by 180 s,
    # when the alert and the digest both go.
    assert hits == [1, 0, 1, 2]
    assert [status for status, _, _ in statuses(engine)] == ["sent", "sent"]


def test_a_slow_send_keeps_its_claim_from_a_second_deliverer(
    engine: Engine, new_integration: Integration, receiver: HttpReceiver
) -> None:
    """The claim is renewed for the send's worst case before it starts: a
    second server whose round starts after the first claim's lease (shrunk
    here to 1 s) still cannot send the same finding while the first sends."""
    add_channel(
        engine,
        "hook",
        kind="webhook",
        url=receiver.url(),
        hmac_secret=HMAC_SECRET,
        timeout_s=3.0,
    )
    add_finding(
        engine, new_integration, severity="high", subject="s@example.com", opened=at(1)
    )
    short = AlertSettings(
        digest_hour=DIGEST_HOUR, plan=PLAN, lease=dt.timedelta(seconds=1)
    )
    receiver.replies[:] = ["hang"]
    receiver.hang_s = 1.5
    first: list[RoundReport] = []
    thread = threading.Thread(
        target=lambda: first.append(asyncio.run(deliver_due(engine, BOX, at(2), short)))
    )
    thread.start()
    for _ in range(200):  # until the first deliverer's POST has arrived
        if receiver.posted:
            break
        threading.Event().wait(0.01)
    assert receiver.posted
    late = at(2) + dt.timedelta(seconds=1.2)  # past the first claim's lease
    second = asyncio.run(deliver_due(engine, BOX, late, short))
    thread.join(timeout=10)
    assert (first[0].sent, second.sent) == (1, 0)
    assert len(receiver.posted) == 1
    assert statuses(engine) == [("sent", 1, None)]


def test_the_lease_of_a_send_outlasts_the_senders_limit() -> None:
    """A send is cut off at SESSION_TIMEOUTS timeouts; its lease is longer."""
    from smp.model.alerts import Channel, ChannelKind
    from smp.services.alerts.senders import SESSION_TIMEOUTS

    for kind in ChannelKind:
        channel = Channel(1, "c", kind, "low", {"timeout_s": 60.0}, START)
        assert delivery.send_lease(channel) > dt.timedelta(
            seconds=60.0 * SESSION_TIMEOUTS
        )


def test_an_smtp_session_slow_at_every_step_is_cut_off_at_its_limit(
    engine: Engine,
    new_integration: Integration,
    mailbox: tuple[SmtpHandler, int],
) -> None:
    """Each reply inside the 0.5 s timeout, five recipients past the session's
    1.5 s limit: the send fails in one line, so it never outlives its claim."""
    handler, port = mailbox
    add_channel(
        engine,
        "mail",
        kind="email",
        smtp_host="127.0.0.1",
        smtp_port=port,
        sender="smp@example.com",
        recipients=tuple(f"r{n}@example.com" for n in range(5)),
        timeout_s=0.5,
    )
    add_finding(
        engine, new_integration, severity="high", subject="w@example.com", opened=at(1)
    )
    handler.rcpt_delay_s = 0.4
    try:
        slow = round_at(engine, at(2))
    finally:
        handler.rcpt_delay_s = 0.0
    error = f"SMTP server 127.0.0.1:{port} did not finish within 1.5 s"
    assert slow.errors == [f"mail: {error}"]
    assert handler.received == []
    assert round_at(engine, at(3)).sent == 1
