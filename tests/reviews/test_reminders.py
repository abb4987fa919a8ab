"""Reminders before a review's due date, through real receivers (an HTTP
webhook and an aiosmtpd server with STARTTLS), on SQLite and PostgreSQL.

Three days before, one day before and on the due date, once each, across a
year end and a month end (February's last day); two rounds at once send a
stage once; a server that was down sends only the latest stage; nothing for a
closed or fully decided campaign, or after the due date. Every round is
given its `now`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import json
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session
from tests.support.alert_receivers import (
    HttpReceiver,
    SmtpHandler,
    Tls,
    http_receiver,
    private_ca,
    smtp_server,
)

from smp.runtime.alerting import alert_round
from smp.services.alerts import manage
from smp.services.alerts.channels import ChannelOptions
from smp.services.alerts.delivery import AlertSettings
from smp.storage import SecretBox
from smp.storage.integrations import create_integration
from smp.storage.tables import (
    AlertChannelRow,
    ReviewCampaignRow,
    ReviewItemRow,
)

pytestmark = pytest.mark.loopback

BOX = SecretBox.from_key(Fernet.generate_key())
SETTINGS = AlertSettings()
CREATED = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    return private_ca(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def receiver() -> Iterator[HttpReceiver]:
    with http_receiver() as opened:
        yield opened


@pytest.fixture(scope="module")
def mailbox(tls: Tls) -> Iterator[tuple[SmtpHandler, int]]:
    handler = SmtpHandler()
    with smtp_server(tls, handler) as port:
        yield handler, port


@pytest.fixture(scope="module")
def integration_ids(engine: Engine) -> list[int]:
    with Session(engine) as session, session.begin():
        return [
            create_integration(session, name, "global").id
            for name in ("Zeta mail", "Alpha mail")
        ]


@pytest.fixture(autouse=True)
def channels(
    engine: Engine,
    receiver: HttpReceiver,
    mailbox: tuple[SmtpHandler, int],
    tls: Tls,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A webhook and an e-mail channel, fresh receivers, no campaign."""
    monkeypatch.setenv("SMP_CA_BUNDLE", str(tls.ca_file))
    monkeypatch.setenv("SMP_PROXY", "none")
    with Session(engine) as session, session.begin():
        session.execute(delete(AlertChannelRow))
        session.execute(delete(ReviewCampaignRow))
    receiver.reset()
    mailbox[0].received.clear()
    options = (
        ("hook", ChannelOptions(kind="webhook", url=receiver.url("/hook/T0KEN"))),
        (
            "mail",
            ChannelOptions(
                kind="email",
                smtp_host="127.0.0.1",
                smtp_port=mailbox[1],
                sender="smp@example.com",
                recipients=("reviews@example.com",),
            ),
        ),
    )
    for name, option in options:
        manage.add_channel(engine, BOX, name, option, created_by=None, now=CREATED)


def add_campaign(
    engine: Engine,
    name: str,
    due: dt.date,
    *,
    undecided: int = 2,
    decided: int = 1,
    status: str = "open",
    integration_ids: list[int] | None = None,
) -> int:
    with Session(engine) as session, session.begin():
        campaign = ReviewCampaignRow(
            name=name,
            name_key=name.casefold(),
            status=status,
            integration_ids=integration_ids or [],
            due=due,
            reviewer_rule="owner",
            created_by="root",
            created_at=CREATED,
            snapshot_sha256="0" * 64,
        )
        session.add(campaign)
        session.flush()
        for number in range(undecided + decided):
            session.add(
                ReviewItemRow(
                    campaign_id=campaign.id,
                    integration_id=1,
                    account_kind="teammate",
                    account_key=f"p{number}@corp.example",
                    email=f"p{number}@corp.example",
                    classification="employee",
                    open_findings=[],
                    decision="keep" if number < decided else None,
                    decided_at=CREATED if number < decided else None,
                    remediation="none",
                )
            )
        return campaign.id


def round_at(engine: Engine, now: dt.datetime) -> None:
    asyncio.run(alert_round(engine, BOX, now, SETTINGS))


def titles(receiver: HttpReceiver) -> list[str]:
    found = []
    for posted in receiver.posted:
        body = json.loads(posted.body)
        assert body["event"] == "review.reminder"
        found += [item["title"] for item in body["findings"]]
    return found


def subjects(mailbox: tuple[SmtpHandler, int]) -> list[str]:
    return [
        str(email.message_from_bytes(m.data, policy=email.policy.default)["Subject"])
        for m in mailbox[0].received
    ]


def test_three_stages_across_a_year_end_once_each(
    engine: Engine,
    receiver: HttpReceiver,
    mailbox: tuple[SmtpHandler, int],
    integration_ids: list[int],
) -> None:
    add_campaign(
        engine, "Year end", dt.date(2027, 1, 1), integration_ids=integration_ids
    )
    due = "(2027-01-01): 2 of 3 items undecided"
    expected = []
    steps = [
        ("2026-12-28T23:59:59", None),  # four days before: nothing yet
        ("2026-12-29T00:00:00", f"Access review 'Year end' is due in 3 days {due}"),
        ("2026-12-29T18:00:00", None),
        ("2026-12-30T23:00:00", None),
        ("2026-12-31T00:00:01", f"Access review 'Year end' is due tomorrow {due}"),
        ("2026-12-31T22:00:00", None),
        ("2027-01-01T07:00:00", f"Access review 'Year end' is due today {due}"),
        ("2027-01-01T23:59:00", None),
        ("2027-01-02T08:00:00", None),  # past due: no more reminders
    ]
    for when, title in steps:
        round_at(engine, at(when))
        if title is not None:
            expected.append(title)
        assert titles(receiver) == expected, when
    assert subjects(mailbox) == [f"[SMP] reminder: {t}" for t in expected]
    assert all(m.over_tls for m in mailbox[0].received)
    assert mailbox[0].received[0].recipients == ["reviews@example.com"]
    text = mailbox[0].received[0].data.decode()
    assert "Integration: Alpha mail, Zeta mail" in text
    assert "smp reviews signoff" in text


def test_a_server_down_sends_only_the_latest_stage_at_a_month_end(
    engine: Engine, receiver: HttpReceiver
) -> None:
    add_campaign(engine, "February", dt.date(2027, 3, 1), undecided=5, decided=0)
    # Down from before the 3-day stage until the last day of February.
    round_at(engine, at("2027-02-28T10:00:00"))
    round_at(engine, at("2027-02-28T10:01:00"))
    round_at(engine, at("2027-03-01T00:00:00"))
    assert titles(receiver) == [
        "Access review 'February' is due tomorrow (2027-03-01): 5 of 5 items undecided",
        "Access review 'February' is due today (2027-03-01): 5 of 5 items undecided",
    ]


def test_two_rounds_at_once_send_a_stage_once(
    engine: Engine, receiver: HttpReceiver, mailbox: tuple[SmtpHandler, int]
) -> None:
    add_campaign(engine, "Race", dt.date(2028, 2, 29))
    now = at("2028-02-26T06:00:00")

    async def both() -> None:
        await asyncio.gather(
            alert_round(engine, BOX, now, SETTINGS),
            alert_round(engine, BOX, now, SETTINGS),
        )

    asyncio.run(both())
    assert len(titles(receiver)) == 1
    assert len(mailbox[0].received) == 1


def test_no_reminder_for_a_closed_or_decided_campaign(
    engine: Engine, receiver: HttpReceiver
) -> None:
    add_campaign(engine, "Closed", dt.date(2027, 6, 30), status="closed")
    add_campaign(engine, "All decided", dt.date(2027, 6, 30), undecided=0)
    round_at(engine, at("2027-06-30T09:00:00"))
    assert receiver.posted == []
