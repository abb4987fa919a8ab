"""Alert settings from the environment: the digest hour is checked, the
public URL makes each alert's link to the finding's page."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from smp.model.alerts import AlertItem
from smp.services.alerts.delivery import AlertSettingError, AlertSettings
from smp.services.alerts.messages import (
    Batch,
    email_text,
    slack_payload,
    teams_payload,
    webhook_payload,
)


@pytest.mark.parametrize("hour", ["24", "-1", "eight", "7.5"])
def test_a_digest_hour_outside_0_to_23_is_refused(
    hour: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMP_ALERT_DIGEST_HOUR", hour)
    with pytest.raises(AlertSettingError, match=r"^SMP_ALERT_DIGEST_HOUR must be"):
        AlertSettings.from_environment()


def test_the_hour_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMP_ALERT_DIGEST_HOUR", "23")
    assert AlertSettings.from_environment().digest_hour == 23


def test_the_public_url_makes_each_alerts_link(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMP_PUBLIC_URL", " https://smp.example.com/base/ ")
    settings = AlertSettings.from_environment()
    assert settings.link(7) == "https://smp.example.com/base/findings/7"
    monkeypatch.setenv("SMP_PUBLIC_URL", "http://[::1]:8443/s%C3%A9c_~x/")
    assert AlertSettings.from_environment().link(8) == (
        "http://[::1]:8443/s%C3%A9c_~x/findings/8"
    )
    monkeypatch.delenv("SMP_PUBLIC_URL")
    assert AlertSettings.from_environment().link(7) is None


@pytest.mark.parametrize(
    "url",
    [
        "smp.example.com",
        "ftp://smp.example.com",
        "https://",
        "https://a/?b=1",
        "https://smp.example.com/#top",
        "https://smp.example.com/#",
        "https://smp.example.com/a b",
        "https://smp.example.com/a|b",
        "https://smp.example.com/a)b",
        "https://smp.example.com/a(b",
        "https://smp.example.com/a>b",
        "https://smp.example.com/a<b",
        'https://smp.example.com/a"b',
        "https://smp.example.com/a%zzb",
        "https://smp.example.com/é",
    ],
)
def test_a_public_url_that_is_no_http_address_is_refused(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMP_PUBLIC_URL", url)
    with pytest.raises(AlertSettingError, match=r"^SMP_PUBLIC_URL must be the http"):
        AlertSettings.from_environment()


def test_without_a_public_url_messages_carry_no_link() -> None:
    item = AlertItem(
        finding_id=3,
        episode=1,
        integration="Acme",
        rule="external_admin",
        severity="high",
        title="External admin: eve@evil.test",
        subject="eve@evil.test",
        evidence={"email": "eve@evil.test"},
        fix=("Open Settings → Teammates",),
    )
    batch = Batch("alert", (item,), dt.datetime(2026, 12, 31, 23, tzinfo=dt.UTC), "c")
    assert email_text(batch) == (
        "SMP high finding: External admin: eve@evil.test\n\n"
        "[HIGH] External admin: eve@evil.test\n"
        "Integration: Acme\n"
        "Subject: eve@evil.test\n"
        "Evidence: email: eve@evil.test\n"
        "Fix:\n"
        "  1. Open Settings → Teammates\n"
    )
    assert webhook_payload(batch)["findings"][0]["link"] is None
    assert "Open in SMP" not in json.dumps(teams_payload(batch))
    assert "Open in SMP" not in json.dumps(slack_payload(batch))


def test_teams_cards_show_sendgrid_text_as_text_not_markdown() -> None:
    """A name from SendGrid that is Markdown (a link, bold, a list) is shown
    as typed: each special character comes with a backslash before it."""
    item = AlertItem(
        finding_id=4,
        episode=1,
        integration="**Acme** #1",
        rule="external_admin",
        severity="high",
        title="External admin: [Reset 2FA](https://evil.test/x)",
        subject="[Reset 2FA](https://evil.test/x)",
        evidence={"name": "<b>_x_</b>", "note": "a|b `c` ~d~"},
        fix=("- Open Settings > Teammates",),
        link="https://smp.example.com/findings/4",
    )
    batch = Batch("alert", (item,), dt.datetime(2026, 12, 31, 23, tzinfo=dt.UTC), "c")
    card = teams_payload(batch)["attachments"][0]["content"]
    link = r"\[Reset 2FA\]\(https://evil.test/x\)"
    assert card["body"] == [
        {
            "type": "TextBlock",
            "text": f"SMP high finding: External admin: {link}",
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        },
        {
            "type": "TextBlock",
            "text": rf"\[HIGH\] External admin: {link}",
            "weight": "Bolder",
            "wrap": True,
            "separator": True,
        },
        {
            "type": "FactSet",
            "facts": [
                {"title": "Integration", "value": r"\*\*Acme\*\* #1"},
                {"title": "Severity", "value": "high"},
                {"title": "Subject", "value": link},
                {
                    "title": "Evidence",
                    "value": r"name: \<b\>\_x\_\</b\>; note: a\|b \`c\` \~d\~",
                },
            ],
        },
        {
            "type": "TextBlock",
            "text": r"1. \- Open Settings \> Teammates",
            "wrap": True,
        },
        {
            "type": "TextBlock",
            "text": "[Open in SMP](https://smp.example.com/findings/4)",
            "wrap": True,
        },
    ]


def test_teams_escapes_what_starts_a_list_or_heading_only_at_a_line_start() -> None:
    item = AlertItem(
        finding_id=5,
        episode=1,
        integration="# Acme\n- one\n  2. two",
        rule="external_admin",
        severity="low",
        title="x-y.z #3",
        subject="3. eve@evil.test",
        evidence={},
        fix=(),
    )
    batch = Batch("alert", (item,), dt.datetime(2027, 1, 1, 0, tzinfo=dt.UTC), "c")
    card = teams_payload(batch)["attachments"][0]["content"]
    assert card["body"][1]["text"] == r"\[LOW\] x-y.z #3"
    facts = {f["title"]: f["value"] for f in card["body"][2]["facts"]}
    assert facts["Integration"] == "\\# Acme\n\\- one\n  2\\. two"
    assert facts["Subject"] == r"3\. eve@evil.test"
