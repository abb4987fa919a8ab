"""`smp alerts channel add|list|remove|test`: secrets never shown, bad input
refused in one line, a failed test message is exit 1 with its reason."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session
from tests.support.alert_receivers import (
    HttpReceiver,
    SmtpHandler,
    Tls,
    high_finding,
    smtp_server,
)
from tests.support.people_cli import use_database
from tests.support.ports import free_port
from typer.testing import CliRunner, Result

from smp.cli.main import app
from smp.model import Integration
from smp.storage.tables import AlertChannelRow, AlertDeliveryRow, FindingRow

pytestmark = pytest.mark.loopback

SLACK_TOKEN = "T000/B000/SLACKTOKENxyz"
TEAMS_TOKEN = "workflows/abc/TEAMSTOKENxyz"
HOOK_TOKEN = "HOOKTOKENxyz"
HMAC = "a-secret-of-more-than-16-chars"
PASSWORD = "smtp-PASSWORD-xyz"
SECRETS = (SLACK_TOKEN, TEAMS_TOKEN, HOOK_TOKEN, HMAC, PASSWORD)


@pytest.fixture(autouse=True)
def cli(
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    receiver: HttpReceiver,
    tls: Tls,
) -> None:
    use_database(engine, tmp_path, monkeypatch)
    monkeypatch.setenv("SMP_CA_BUNDLE", str(tls.ca_file))
    monkeypatch.setenv("SMP_PROXY", "none")  # the receivers are on loopback
    monkeypatch.setenv("SLACK_URL", receiver.url(f"/services/{SLACK_TOKEN}"))
    monkeypatch.setenv("TEAMS_URL", receiver.url(f"/{TEAMS_TOKEN}"))
    monkeypatch.setenv("HOOK_URL", receiver.url(f"/hook/{HOOK_TOKEN}"))
    monkeypatch.setenv("HOOK_SECRET", HMAC)
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    with Session(engine) as session, session.begin():
        session.execute(delete(AlertChannelRow))
    receiver.reset()


def alerts(*args: str) -> Result:
    return CliRunner().invoke(app, ["alerts", "channel", *args], catch_exceptions=False)


def one_error_line(result: Result) -> str:
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


def test_channels_are_added_listed_and_removed_without_showing_a_secret(
    engine: Engine, receiver: HttpReceiver
) -> None:
    where = f"127.0.0.1:{receiver.port}"
    added = [
        alerts("add", "Slack ops", "--kind", "slack", "--url-env", "SLACK_URL"),
        alerts(
            "add", "teams", "--kind", "teams", "--url-env", "TEAMS_URL",
            "--min-severity", "high",
        ),
        alerts(
            "add", "siem", "--kind", "webhook", "--url-env", "HOOK_URL",
            "--secret-env", "HOOK_SECRET", "--min-severity", "medium",
        ),
        alerts(
            "add", "mail", "--kind", "email", "--smtp-host", "smtp.example.com",
            "--from", "smp@example.com", "--to", "a@example.com", "--to",
            "b@example.com", "--smtp-user", "smp", "--smtp-password-env",
            "SMTP_PASSWORD",
        ),
    ]  # fmt: skip
    assert [r.exit_code for r in added] == [0, 0, 0, 0], [r.output for r in added]
    assert f"Added alert channel 'Slack ops': slack, {where}/…, every severity." in (
        added[0].output
    )
    taken = alerts("add", "SLACK OPS", "--kind", "slack", "--url-env", "SLACK_URL")
    assert (taken.exit_code, one_error_line(taken)) == (
        2,
        "error: an alert channel named 'SLACK OPS' exists",
    )
    listed = alerts("list", "--json")
    table = alerts("list")
    for shown in (listed.output, table.output, *(r.output for r in added)):
        for secret in SECRETS:
            assert secret not in shown
    rows = {row["name"]: row for row in json.loads(listed.output)}
    shown_rows = {
        n: (r["kind"], r["min_severity"], r["target"]) for n, r in rows.items()
    }
    mail_target = "smtp smtp.example.com:587 to a@example.com, b@example.com"
    assert shown_rows == {
        "Slack ops": ("slack", "low", f"{where}/…"),
        "teams": ("teams", "high", f"{where}/…"),
        "siem": ("webhook", "medium", f"{where}/…"),
        "mail": ("email", "low", mail_target),
    }
    assert rows["siem"]["deliveries"]["sent"] == 0
    with Session(engine) as session:
        stored = session.execute(
            select(AlertChannelRow.settings, AlertChannelRow.encrypted_secret)
        ).all()
    for settings, encrypted in stored:
        for secret in SECRETS:
            assert secret not in json.dumps(settings) + encrypted

    asked = alerts("remove", "slack ops")  # no terminal to ask on
    assert asked.exit_code == 2
    assert "--yes" in asked.output
    removed = alerts("remove", "slack ops", "--yes")
    assert removed.exit_code == 0
    assert [r["name"] for r in json.loads(alerts("list", "--json").output)] == [
        "mail",
        "siem",
        "teams",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--kind", "webhook", "--url-env", "FTP_URL"],
            "the webhook URL: only http:// and https:// URLs with a host are accepted",
        ),
        (
            ["--kind", "slack", "--url-env", "JS_URL"],
            "the slack URL: only http:// and https:// URLs with a host are accepted",
        ),
        (["--kind", "slack"], "the slack URL: a URL is required"),
        (["--kind", "sms"], "--kind must be one of email, slack, teams, webhook"),
        (
            ["--kind", "slack", "--url-env", "SLACK_URL", "--min-severity", "critical"],
            "--min-severity must be one of high, medium, low",
        ),
        (
            ["--kind", "slack", "--url-env", "SLACK_URL", "--timeout", "61"],
            "--timeout must be more than 0 and at most 60 seconds",
        ),
        (
            ["--kind", "email", "--smtp-host", "h", "--smtp-port", "0", "--from",
             "a@b.c", "--to", "d@e.f"],
            "--smtp-port must be from 1 to 65535",
        ),
        (
            ["--kind", "email", "--smtp-host", "h", "--from", "a@b.c"],
            "--to is required, 1 to 20 addresses",
        ),
        (
            ["--kind", "email", "--smtp-host", "h", "--from", "not-an-address",
             "--to", "d@e.f"],
            "--from: 'not-an-address' is not an e-mail address",
        ),
        (
            ["--kind", "webhook", "--url-env", "HOOK_URL", "--secret-env", "SHORT"],
            "the HMAC secret must be at least 16 characters",
        ),
    ],
)  # fmt: skip
def test_bad_options_are_refused_in_one_line(
    args: list[str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FTP_URL", f"ftp://example.com/{HOOK_TOKEN}")
    monkeypatch.setenv("JS_URL", "javascript:alert(1)")
    monkeypatch.setenv("SHORT", "short")
    refused = alerts("add", "x", *args)
    assert refused.exit_code == 2
    assert one_error_line(refused) == f"error: {message}"
    assert json.loads(alerts("list", "--json").output) == []


def test_a_failed_test_message_is_exit_1_with_the_reason(
    receiver: HttpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    alerts("add", "hook", "--kind", "webhook", "--url-env", "HOOK_URL")
    closed = free_port()
    alerts(
        "add", "mail", "--kind", "email", "--smtp-host", "127.0.0.1",
        "--smtp-port", str(closed), "--from", "smp@example.com", "--to",
        "a@example.com", "--timeout", "2",
    )  # fmt: skip
    receiver.replies[:] = [500]
    failed = alerts("test", "hook")
    assert failed.exit_code == 1
    assert one_error_line(failed) == (
        "error: the test message was not delivered: "
        f"127.0.0.1:{receiver.port} answered 500 Internal Server Error: no_service"
    )
    refused = alerts("test", "mail")
    assert refused.exit_code == 1
    assert one_error_line(refused) == (
        "error: the test message was not delivered: cannot connect to SMTP "
        f"server 127.0.0.1:{closed}: connection refused"
    )
    monkeypatch.setenv("SMP_PROXY", "ftp://proxy.example.com")
    unusable = alerts("test", "hook")
    assert (unusable.exit_code, one_error_line(unusable)) == (
        1,
        "error: the test message was not delivered: SMP_PROXY must be an "
        "http:// or https:// proxy with a host",
    )
    missing = alerts("test", "nothing")
    assert (missing.exit_code, one_error_line(missing)) == (
        2,
        "error: no alert channel named 'nothing'",
    )


def test_a_channel_named_beyond_ascii_sends_its_test_message(
    receiver: HttpReceiver,
) -> None:
    """The event id header is ASCII even when the channel's name is not."""
    alerts("add", "Sécurité", "--kind", "webhook", "--url-env", "HOOK_URL")
    sent = alerts("test", "Sécurité")
    assert sent.exit_code == 0, sent.output
    assert "Traceback" not in sent.output
    [posted] = receiver.posted
    assert posted.headers["X-SMP-Event-Id"].isascii()
    assert json.loads(posted.body)["channel"] == "Sécurité"


def test_a_test_message_arrives_over_starttls(tls: Tls) -> None:
    handler = SmtpHandler()
    with smtp_server(tls, handler) as port:
        added = alerts(
            "add", "mail", "--kind", "email", "--smtp-host", "127.0.0.1",
            "--smtp-port", str(port), "--from", "smp@example.com", "--to",
            "secops@example.com",
        )  # fmt: skip
        assert added.exit_code == 0, added.output
        sent = alerts("test", "mail")
    assert sent.exit_code == 0, sent.output
    assert sent.output == (
        f"Sent a test message to 'mail' (smtp 127.0.0.1:{port} to "
        "secops@example.com).\n"
    )
    [mail] = handler.received
    assert mail.over_tls
    parsed = email.message_from_bytes(
        mail.data.replace(b"\r\n", b"\n"), policy=email.policy.default
    )
    assert parsed["Subject"] == "[SMP] test message for channel mail"
    assert parsed.get_content() == (
        "SMP test message for channel mail\n\n"
        "This is a test. When findings open, SMP sends them here.\n"
    )


def test_mail_is_never_sent_in_the_clear_nor_to_an_untrusted_server(
    tls: Tls, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = SmtpHandler()
    with smtp_server(None, handler) as plain, smtp_server(tls, handler) as secure:
        for name, port in (("plain", plain), ("secure", secure)):
            added = alerts(
                "add", name, "--kind", "email", "--smtp-host", "127.0.0.1",
                "--smtp-port", str(port), "--from", "smp@example.com", "--to",
                "secops@example.com",
            )  # fmt: skip
            assert added.exit_code == 0, added.output
        cleartext = alerts("test", "plain")
        monkeypatch.delenv("SMP_CA_BUNDLE")
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
        untrusted = alerts("test", "secure")
    assert (cleartext.exit_code, one_error_line(cleartext)) == (
        1,
        "error: the test message was not delivered: SMTP server "
        f"127.0.0.1:{plain} does not offer STARTTLS; SMP sends no mail in the clear",
    )
    assert (untrusted.exit_code, one_error_line(untrusted)) == (
        1,
        "error: the test message was not delivered: certificate of SMTP server "
        "127.0.0.1 not trusted; set SMP_CA_BUNDLE to your CA file",
    )
    assert handler.received == []


def open_high_finding(engine: Engine, integration: Integration) -> None:
    """The only finding: high, opened after the channel (so sent at once)."""
    opened = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    with Session(engine) as session, session.begin():
        session.execute(delete(FindingRow))
        session.add(high_finding(integration.id, opened))


def test_alerts_send_runs_one_round_for_setups_without_a_server(
    engine: Engine, new_integration: Integration, receiver: HttpReceiver
) -> None:
    alerts("add", "hook", "--kind", "webhook", "--url-env", "HOOK_URL")
    open_high_finding(engine, new_integration)
    send = ["alerts", "send", "--json"]
    receiver.replies[:] = [500]
    failed = CliRunner().invoke(app, send, catch_exceptions=False)
    assert failed.exit_code == 1
    assert json.loads(failed.stdout)["failed"] == 1
    # The retry waits for its backoff: a round right away sends nothing.
    again = CliRunner().invoke(app, send, catch_exceptions=False)
    assert (again.exit_code, json.loads(again.stdout)["sent"]) == (0, 0)
    assert len(receiver.posted) == 1


def test_alerts_send_is_exit_1_when_a_channels_secret_does_not_decrypt(
    engine: Engine,
) -> None:
    alerts("add", "hook", "--kind", "webhook", "--url-env", "HOOK_URL")
    # Encrypted under a master key SMP does not have (e.g. restored from a
    # backup made before `smp keys rotate-master`).
    other = Fernet(Fernet.generate_key()).encrypt(b"{}").decode()
    with Session(engine) as session, session.begin():
        session.execute(update(AlertChannelRow).values(encrypted_secret=other))
    sent = CliRunner().invoke(app, ["alerts", "send"], catch_exceptions=False)
    assert sent.exit_code == 1
    assert "Traceback" not in sent.output
    lines = sent.output.strip().splitlines()
    assert lines[0] == "Alerts: 0 sent, 0 failed (0 given up), 0 no longer open."
    assert lines[1:] == [WRONG_KEY]
    # `smp alerts channel test` says the same in one line, exit 1.
    tested = alerts("test", "hook")
    assert tested.exit_code == 1
    assert tested.output.strip().splitlines() == [
        WRONG_KEY.replace("warning: ", "error: ", 1)
    ]


WRONG_KEY = (
    "warning: cannot decrypt the secret of alert channel 'hook' (its webhook URL, "
    "SMTP password or HMAC secret): the master key does not match the one it was "
    "encrypted with; set SMP_SECRET_KEY or $SMP_HOME/master.key back to that key, "
    "or remove the channel and add it again"
)


def test_a_test_message_that_arrives_retries_the_channels_failed_deliveries(
    engine: Engine, new_integration: Integration, receiver: HttpReceiver
) -> None:
    alerts("add", "hook", "--kind", "webhook", "--url-env", "HOOK_URL")
    open_high_finding(engine, new_integration)
    receiver.replies[:] = [500]
    send = ["alerts", "send", "--json"]
    assert CliRunner().invoke(app, send, catch_exceptions=False).exit_code == 1
    # As after the retry plan's last attempt: failed for good.
    with Session(engine) as session, session.begin():
        session.execute(update(AlertDeliveryRow).values(status="failed"))
    tested = alerts("test", "hook")
    assert tested.exit_code == 0, tested.output
    assert tested.output.strip().splitlines()[1:] == [
        "1 failed delivery is due again: the next alert round (or `smp alerts "
        "send`) sends it."
    ]
    again = CliRunner().invoke(app, send, catch_exceptions=False)
    assert (again.exit_code, json.loads(again.stdout)["sent"]) == (0, 1)
    # The failed try, the test message, the finding again.
    assert len(receiver.posted) == 3
    assert json.loads(receiver.posted[-1].body)["findings"][0]["subject"] == (
        "x@example.org"
    )
    # Nothing failed is left: a second test retries nothing.
    assert alerts("test", "hook").output.strip().count("\n") == 0
