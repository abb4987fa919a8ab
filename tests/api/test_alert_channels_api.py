"""`/api/v1/alert-channels`: admins add, list, test and remove channels; the
secrets they send never come back; bad input is one-sentence problem details.

Deliveries go to real receivers on loopback: an aiosmtpd server that requires
STARTTLS and an HTTP server that records each POST (tests/support).
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import hmac
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session
from tests.support.alert_receivers import (
    HttpReceiver,
    SmtpHandler,
    Tls,
    high_finding,
    http_receiver,
    private_ca,
    smtp_server,
)
from tests.support.app import Server
from tests.support.audit_rows import audited_since, last_audit_id

from smp.model import Integration
from smp.runtime.alerting import alert_round
from smp.storage.tables import AlertChannelRow, AuditEventRow, FindingRow

pytestmark = pytest.mark.loopback

SLACK_TOKEN = "T000/B000/SLACKsecretTOKEN"
HOOK_TOKEN = "HOOKsecretTOKEN"
HMAC_SECRET = "hmac-secret-of-more-than-16"
SMTP_PASSWORD = "smtp-PASSWORD-secret"
SECRETS = (SLACK_TOKEN, HOOK_TOKEN, HMAC_SECRET, SMTP_PASSWORD)
CHANNELS = "/api/v1/alert-channels"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    return private_ca(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def receiver() -> Iterator[HttpReceiver]:
    with http_receiver() as opened:
        yield opened


@pytest.fixture(autouse=True)
def clean(
    engine: Engine, receiver: HttpReceiver, tls: Tls, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMP_CA_BUNDLE", str(tls.ca_file))
    monkeypatch.setenv("SMP_PROXY", "none")  # the receivers are on loopback
    with Session(engine) as session, session.begin():
        session.execute(delete(AlertChannelRow))
        session.execute(delete(FindingRow))
    receiver.reset()


def admin(server: Server) -> dict[str, str]:
    return server.auth(server.admin_token)


def no_secret_in(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


async def add(
    client: httpx.AsyncClient, server: Server, body: dict[str, object]
) -> httpx.Response:
    return await client.post(CHANNELS, headers=admin(server), json=body)


async def test_channels_are_added_listed_and_removed_and_never_show_a_secret(
    client: httpx.AsyncClient, server: Server, receiver: HttpReceiver, engine: Engine
) -> None:
    where = f"127.0.0.1:{receiver.port}"
    slack = await add(
        client,
        server,
        {
            "name": "Slack ops",
            "kind": "slack",
            "min_severity": "medium",
            "url": receiver.url(f"/services/{SLACK_TOKEN}"),
        },
    )
    hook = await add(
        client,
        server,
        {
            "name": "Hook",
            "kind": "webhook",
            "url": receiver.url(f"/hook/{HOOK_TOKEN}"),
            "hmac_secret": HMAC_SECRET,
        },
    )
    mail = await add(
        client,
        server,
        {
            "name": "Mail",
            "kind": "email",
            "min_severity": "high",
            "smtp_host": "smtp.example.com",
            "sender": "smp@example.com",
            "recipients": ["secops@example.com", "it@example.com"],
            "smtp_user": "smp",
            "smtp_password": SMTP_PASSWORD,
        },
    )
    for answer in (slack, hook, mail):
        assert answer.status_code == 201, answer.text
        no_secret_in(answer.text)
    assert slack.json()["warnings"] == ["the URL is http://: alerts travel unencrypted"]
    assert slack.json()["channel"]["created_by"] == server.admin
    listed = await client.get(CHANNELS, headers=admin(server))
    assert listed.status_code == 200
    no_secret_in(listed.text)
    shown = {
        c["name"]: (c["kind"], c["min_severity"], c["target"]) for c in listed.json()
    }
    assert shown == {
        "Hook": ("webhook", "low", f"{where}/…"),
        "Mail": (
            "email",
            "high",
            "smtp smtp.example.com:587 to secops@example.com, it@example.com",
        ),
        "Slack ops": ("slack", "medium", f"{where}/…"),
    }
    assert listed.json()[0]["deliveries"] == {
        "pending": 0,
        "retrying": 0,
        "sent": 0,
        "skipped": 0,
        "failed": 0,
        "last_error": None,
        "last_sent_at": None,
    }
    by_id = await client.delete(
        f"{CHANNELS}/{hook.json()['channel']['id']}", headers=admin(server)
    )
    by_name = await client.delete(f"{CHANNELS}/slack%20OPS", headers=admin(server))
    assert (by_id.status_code, by_name.status_code) == (204, 204)
    left = await client.get(CHANNELS, headers=admin(server))
    assert [c["name"] for c in left.json()] == ["Mail"]
    again = await client.delete(f"{CHANNELS}/Hook", headers=admin(server))
    assert again.status_code == 404
    assert again.json()["detail"] == "no alert channel 'Hook'"
    with Session(engine) as session:
        latest = session.scalars(
            select(AuditEventRow)
            .where(AuditEventRow.action.like("alert_channel.%"))
            .order_by(AuditEventRow.id.desc())
            .limit(5)
        ).all()
        audited = [(r.actor, r.source, r.action, r.target) for r in latest]
        details = [r.details for r in latest]
    assert audited[::-1] == [
        (server.admin, "127.0.0.1", "alert_channel.add", "Slack ops"),
        (server.admin, "127.0.0.1", "alert_channel.add", "Hook"),
        (server.admin, "127.0.0.1", "alert_channel.add", "Mail"),
        (server.admin, "127.0.0.1", "alert_channel.remove", "Hook"),
        (server.admin, "127.0.0.1", "alert_channel.remove", "Slack ops"),
    ]
    no_secret_in(str(details))


async def test_a_test_message_is_signed_and_its_outcome_told_without_the_token(
    client: httpx.AsyncClient, server: Server, receiver: HttpReceiver, engine: Engine
) -> None:
    added = await add(
        client,
        server,
        {
            "name": "Hook",
            "kind": "webhook",
            "url": receiver.url(f"/hook/{HOOK_TOKEN}"),
            "hmac_secret": HMAC_SECRET,
        },
    )
    before = last_audit_id(engine)
    channel_id = added.json()["channel"]["id"]
    sent = await client.post(f"{CHANNELS}/{channel_id}/test", headers=admin(server))
    assert sent.status_code == 200, sent.text
    assert sent.json() == {
        "channel": "Hook",
        "delivered": True,
        "error": None,
        "due_again": 0,
    }
    [posted] = receiver.posted
    assert posted.path == f"/hook/{HOOK_TOKEN}"
    stamp = posted.headers["X-SMP-Timestamp"]
    expected = hmac.new(
        HMAC_SECRET.encode(), stamp.encode() + b"." + posted.body, hashlib.sha256
    ).hexdigest()
    assert posted.headers["X-SMP-Signature"] == f"sha256={expected}"
    # A receiver that quotes the request's path in its answer: the token stays out.
    receiver.replies[:] = ["echo"]
    failed = await client.post(f"{CHANNELS}/Hook/test", headers=admin(server))
    assert failed.status_code == 200
    assert failed.json()["delivered"] is False
    assert failed.json()["error"].startswith(f"127.0.0.1:{receiver.port} answered 404")
    no_secret_in(failed.text)
    missing = await client.post(f"{CHANNELS}/987654/test", headers=admin(server))
    assert missing.status_code == 404
    huge = await client.post(f"{CHANNELS}/{'9' * 40}/test", headers=admin(server))
    assert huge.status_code == 404
    tests = audited_since(engine, before, "alert_channel.test")
    audited = [(r.actor, r.source, r.target, r.details) for r in tests]
    error = failed.json()["error"]
    assert audited == [
        (
            server.admin,
            "127.0.0.1",
            "Hook",
            {"kind": "webhook", "delivered": True, "error": None, "due_again": 0},
        ),
        (
            server.admin,
            "127.0.0.1",
            "Hook",
            {"kind": "webhook", "delivered": False, "error": error, "due_again": 0},
        ),
    ]
    no_secret_in(str(audited))


async def test_a_test_mail_goes_over_starttls(
    client: httpx.AsyncClient, server: Server, tls: Tls
) -> None:
    handler = SmtpHandler()
    with smtp_server(tls, handler) as port:
        added = await add(
            client,
            server,
            {
                "name": "Mail",
                "kind": "email",
                "smtp_host": "127.0.0.1",
                "smtp_port": port,
                "sender": "smp@example.com",
                "recipients": ["secops@example.com"],
            },
        )
        assert added.status_code == 201, added.text
        sent = await client.post(f"{CHANNELS}/Mail/test", headers=admin(server))
    assert sent.json()["delivered"] is True, sent.text
    [mail] = handler.received
    assert mail.over_tls
    assert mail.recipients == ["secops@example.com"]
    parsed = email.message_from_bytes(
        mail.data.replace(b"\r\n", b"\n"), policy=email.policy.default
    )
    assert parsed["Subject"] == "[SMP] test message for channel Mail"


async def test_failed_deliveries_are_shown_per_channel(
    client: httpx.AsyncClient,
    server: Server,
    engine: Engine,
    new_integration: Integration,
    receiver: HttpReceiver,
) -> None:
    await add(
        client,
        server,
        {
            "name": "Hook",
            "kind": "webhook",
            "url": receiver.url(f"/hook/{HOOK_TOKEN}"),
            "hmac_secret": HMAC_SECRET,
        },
    )
    now = server.setup.context.now()
    opened = now + dt.timedelta(seconds=1)  # after the channel: sent at once
    with Session(engine) as session, session.begin():
        session.add(high_finding(new_integration.id, opened))
    receiver.replies[:] = [500]
    report = await alert_round(
        engine, server.setup.box, opened + dt.timedelta(seconds=1)
    )
    assert (report.queued, report.failed) == (1, 1)
    listed = await client.get(CHANNELS, headers=admin(server))
    [channel] = listed.json()
    assert channel["deliveries"]["retrying"] == 1
    assert channel["deliveries"]["sent"] == 0
    assert channel["deliveries"]["last_error"] == (
        f"127.0.0.1:{receiver.port} answered 500 Internal Server Error: no_service"
    )
    no_secret_in(listed.text)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            {"name": "x", "kind": "slack", "url": "ftp://hooks.example.com/T/B/x"},
            "the slack URL: only http:// and https:// URLs with a host are accepted",
        ),
        ({"name": "x", "kind": "teams"}, "the teams URL: a URL is required"),
        (
            {"name": "x", "kind": "webhook", "url": "https://h.example.com/a"},
            "a webhook needs hmac_secret: the secret its receiver checks",
        ),
        (
            {
                "name": "x",
                "kind": "webhook",
                "url": "https://h.example.com/a",
                "hmac_secret": "short",
            },
            "the HMAC secret must be at least 16 characters",
        ),
        (
            {"name": "x", "kind": "email", "sender": "a@example.com"},
            "smtp_host must be a host name or address",
        ),
        (
            {
                "name": "x",
                "kind": "email",
                "smtp_host": "smtp.example.com",
                "sender": "a@example.com",
            },
            "recipients is required, 1 to 20 addresses",
        ),
    ],
)
async def test_bad_channels_are_refused_in_one_sentence(
    client: httpx.AsyncClient,
    server: Server,
    body: dict[str, object],
    detail: str,
) -> None:
    answer = await add(client, server, body)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["detail"] == detail
    assert "ftp://" not in answer.text  # a URL may be the secret itself
    listed = await client.get(CHANNELS, headers=admin(server))
    assert listed.json() == []


async def test_missing_fields_and_taken_names_are_problems(
    client: httpx.AsyncClient, server: Server, receiver: HttpReceiver
) -> None:
    missing = await add(client, server, {"kind": "slack"})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["location"] == ["body", "name"]
    unknown = await add(client, server, {"name": "x", "kind": "pager"})
    assert unknown.status_code == 422
    body = {"name": "Ops", "kind": "slack", "url": receiver.url(f"/s/{SLACK_TOKEN}")}
    assert (await add(client, server, body)).status_code == 201
    taken = await add(client, server, {**body, "name": "OPS"})
    assert taken.status_code == 409
    no_secret_in(taken.text)


async def test_viewers_and_strangers_are_refused(
    client: httpx.AsyncClient, server: Server, receiver: HttpReceiver
) -> None:
    body = {"name": "Ops", "kind": "slack", "url": receiver.url(f"/s/{SLACK_TOKEN}")}
    assert (await add(client, server, body)).status_code == 201
    viewer = server.auth(server.viewer_token)
    answers = [
        await client.get(CHANNELS, headers=viewer),
        await client.post(CHANNELS, headers=viewer, json={**body, "name": "Mine"}),
        await client.delete(f"{CHANNELS}/Ops", headers=viewer),
        await client.post(f"{CHANNELS}/Ops/test", headers=viewer),
    ]
    assert [a.status_code for a in answers] == [403, 403, 403, 403]
    assert (await client.get(CHANNELS)).status_code == 401
    assert receiver.posted == []
    listed = await client.get(CHANNELS, headers=admin(server))
    assert [c["name"] for c in listed.json()] == ["Ops"]


def test_the_reference_documents_the_channel_bodies(server: Server) -> None:
    models = server.app.openapi()["components"]["schemas"]
    for name in ("ChannelOut", "ChannelAddedOut", "ChannelTestOut", "ChannelIn"):
        assert models[name].get("examples"), name
    # No answer has a field a secret could travel in.
    for name in ("ChannelOut", "DeliveriesOut", "ChannelTestOut"):
        fields = set(models[name]["properties"])
        assert not fields & {"url", "hmac_secret", "smtp_password", "secret"}, name
