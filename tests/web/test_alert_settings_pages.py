"""/settings/alerts and /settings/thresholds over HTTP: admins only, forms
with the CSRF token, refusals beside their field, secrets never in a page.

Channels send to a real HTTP receiver on loopback (tests/support).
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session
from tests.support.alert_receivers import HttpReceiver, http_receiver
from tests.support.app import Server
from tests.support.audit_rows import audited_since, last_audit_id
from tests.support.web import csrf_of, sign_in, web_client

from smp.model import Integration
from smp.storage.tables import (
    AlertChannelRow,
    AuditEventRow,
    FindingThresholdDefaultRow,
    FindingThresholdOverrideRow,
)

pytestmark = pytest.mark.loopback

TOKEN = "T000/B000/WEBsecretTOKEN"
HMAC_SECRET = "web-hmac-secret-of-16-plus"
ALERTS, THRESHOLDS = "/settings/alerts", "/settings/thresholds"


@pytest.fixture(scope="module")
def receiver() -> Iterator[HttpReceiver]:
    with http_receiver() as opened:
        yield opened


@pytest.fixture(autouse=True)
def clean(
    engine: Engine, receiver: HttpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMP_PROXY", "none")  # the receiver is on loopback
    with Session(engine) as session, session.begin():
        session.execute(delete(AlertChannelRow))
        session.execute(delete(FindingThresholdDefaultRow))
        session.execute(delete(FindingThresholdOverrideRow))
    receiver.reset()


@pytest.fixture
async def admin(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with web_client(server) as client:
        await sign_in(client, server.admin)
        yield client


@pytest.fixture
async def viewer(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with web_client(server) as client:
        await sign_in(client, server.viewer)
        yield client


def field_error(page: str, field_id: str) -> str:
    found = re.search(
        rf'<p class="field-error" id="{field_id}-error"[^>]*>([^<]*)</p>', page
    )
    assert found, f"no error beside {field_id}"
    return html.unescape(found.group(1))


async def post_form(
    client: httpx.AsyncClient, path: str, data: dict[str, str], page: str = ALERTS
) -> httpx.Response:
    form = await client.get(page)
    return await client.post(path, data={**data, "csrf_token": csrf_of(form.text)})


async def test_an_admin_adds_tests_and_removes_a_channel(
    admin: httpx.AsyncClient, receiver: HttpReceiver, server: Server, engine: Engine
) -> None:
    url = receiver.url(f"/hook/{TOKEN}")
    added = await post_form(
        admin,
        ALERTS,
        {
            "name": "Ops hook",
            "kind": "webhook",
            "min_severity": "medium",
            "url": url,
            "hmac_secret": HMAC_SECRET,
        },
    )
    assert added.status_code == 303
    page = await admin.get(ALERTS)
    where = f"127.0.0.1:{receiver.port}/…"
    assert (
        f"Added alert channel ‘Ops hook’ ({where}). Note: the URL is http://: "
        "alerts travel unencrypted." in html.unescape(page.text)
    )
    assert f"<code>{where}</code>" in page.text
    assert "medium and high" in page.text
    assert TOKEN not in page.text
    assert HMAC_SECRET not in page.text
    before = last_audit_id(engine)
    channel_id = re.search(r'action="/settings/alerts/(\d+)/test"', page.text)
    assert channel_id
    tested = await post_form(admin, f"{ALERTS}/{channel_id.group(1)}/test", {})
    assert tested.status_code == 200
    assert "Sent a test message to ‘Ops hook’: it was delivered." in tested.text
    assert [p.path for p in receiver.posted] == [f"/hook/{TOKEN}"]
    receiver.replies[:] = [500]
    failed = await post_form(admin, f"{ALERTS}/{channel_id.group(1)}/test", {})
    assert (
        "The test message to ‘Ops hook’ was not delivered: "
        f"127.0.0.1:{receiver.port} answered 500 Internal Server Error: no_service."
        in html.unescape(failed.text)
    )
    assert TOKEN not in failed.text
    tests = audited_since(engine, before, "alert_channel.test")
    audited = [(r.actor, r.source, r.target, r.details["delivered"]) for r in tests]
    assert audited == [
        (server.admin, "127.0.0.1", "Ops hook", True),
        (server.admin, "127.0.0.1", "Ops hook", False),
    ]
    # Removal asks first: the button sits inside a closed <details>.
    assert re.search(
        r'<details class="confirm">\s*<summary[^>]*>Remove<span class="sr"> channel '
        r"Ops hook</span>…</summary>\s*<form method=\"post\" action=\"/settings/alerts/"
        + channel_id.group(1)
        + '/remove">',
        page.text,
    )
    removed = await post_form(admin, f"{ALERTS}/{channel_id.group(1)}/remove", {})
    assert removed.status_code == 303
    after = await admin.get(ALERTS)
    assert "Removed alert channel ‘Ops hook’ and its delivery history." in after.text
    assert "No alert channels yet" in after.text
    gone = await post_form(admin, f"{ALERTS}/{channel_id.group(1)}/remove", {})
    assert gone.status_code == 404


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"name": "x", "kind": "slack", "url": f"ftp://hooks.example.com/{TOKEN}"},
            "ch-url",
            "The slack URL: only http:// and https:// URLs with a host are accepted.",
        ),
        (
            {"name": "x", "kind": "webhook", "url": f"https://h.example.com/{TOKEN}"},
            "ch-hmac_secret",
            "A webhook needs the HMAC secret its receiver checks.",
        ),
        (
            {"name": "x", "kind": "email", "smtp_host": "smtp.example.com",
             "sender": "smp@example.com", "smtp_password": HMAC_SECRET},
            "ch-recipients",
            "Recipients is required, 1 to 20 addresses.",
        ),
        (
            {"name": "x", "kind": "email", "smtp_host": "smtp.example.com",
             "sender": "not-an-address", "recipients": "a@example.com"},
            "ch-sender",
            "The From address: 'not-an-address' is not an e-mail address.",
        ),
        (
            {"name": "", "kind": "teams", "url": f"https://t.example.com/{TOKEN}"},
            "ch-name",
            "A channel name is 1 to 100 printable characters.",
        ),
        (
            {"name": "x", "kind": "slack", "url": f"https://ops:{HMAC_SECRET}@h.example.com/"},
            "ch-url",
            "The slack URL: the URL may not hold a user name or password.",
        ),
        (
            {"name": "x", "kind": "webhook", "url": f"https://h.example.com/{TOKEN}",
             "hmac_secret": HMAC_SECRET + "\x01"},
            "ch-hmac_secret",
            "The HMAC secret contains control characters.",
        ),
        (
            {"name": "x", "kind": "email", "smtp_host": "smtp.example.com",
             "sender": "smp@example.com", "recipients": "a@example.com",
             "smtp_user": "u", "smtp_password": HMAC_SECRET + "\n"},
            "ch-smtp_password",
            "The SMTP password contains control characters.",
        ),
        (
            {"name": "x", "kind": "slack", "url": f"https://h.example.com/{TOKEN}\t"},
            "ch-url",
            "The URL contains control characters.",
        ),
    ],
)  # fmt: skip
async def test_bad_input_is_refused_beside_its_field_and_secrets_are_not_echoed(
    admin: httpx.AsyncClient, data: dict[str, str], field: str, message: str
) -> None:
    refused = await post_form(admin, ALERTS, data)
    assert refused.status_code == 422
    assert field_error(refused.text, field) == message
    assert f'id="{field}" ' in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert TOKEN not in refused.text
    assert HMAC_SECRET not in refused.text
    assert "For safety SMP never sends a secret back" in refused.text
    if data["name"]:
        assert 'id="ch-name" name="name" type="text"' in refused.text
        assert 'value="x"' in refused.text  # what is not secret is kept
    assert "No alert channels yet" in refused.text


async def test_a_taken_name_is_refused_beside_the_name(
    admin: httpx.AsyncClient, receiver: HttpReceiver
) -> None:
    data = {"name": "Ops", "kind": "slack", "url": receiver.url(f"/s/{TOKEN}")}
    assert (await post_form(admin, ALERTS, data)).status_code == 303
    taken = await post_form(admin, ALERTS, {**data, "name": "OPS"})
    assert taken.status_code == 409
    assert field_error(taken.text, "ch-name").startswith("An alert channel named")
    assert TOKEN not in taken.text


async def test_forms_without_the_csrf_token_change_nothing(
    admin: httpx.AsyncClient, receiver: HttpReceiver
) -> None:
    data = {"name": "Ops", "kind": "slack", "url": receiver.url(f"/s/{TOKEN}")}
    forged = await admin.post(ALERTS, data={**data, "csrf_token": "forged"})
    unsigned = {"rule": "expired_invite", "name": "days", "value": "9"}
    missing = await admin.post(THRESHOLDS, data=unsigned)
    assert (forged.status_code, missing.status_code) == (403, 403)
    assert "No alert channels yet" in (await admin.get(ALERTS)).text
    page = await admin.get(THRESHOLDS)
    assert "not set: the built-in default applies" in page.text
    assert "9 days" not in page.text


async def test_viewers_are_refused_and_strangers_sent_to_sign_in(
    server: Server,
    viewer: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    receiver: HttpReceiver,
) -> None:
    for path in (ALERTS, THRESHOLDS):
        page = await viewer.get(path)
        assert page.status_code == 403
        assert "Only an admin can do this; your role is viewer." in page.text
    home = await viewer.get("/integrations")
    assert 'href="/settings/alerts"' not in home.text
    assert 'href="/settings/alerts"' in (await admin.get("/integrations")).text
    channel = {"name": "Ops", "kind": "slack", "url": receiver.url(f"/s/{TOKEN}")}
    assert (await post_form(admin, ALERTS, channel)).status_code == 303
    listed = await admin.get(ALERTS)
    found = re.search(r'action="/settings/alerts/(\d+)/remove"', listed.text)
    assert found
    token = csrf_of(home.text)
    for path, data in (
        (ALERTS, {**channel, "name": "Mine"}),
        (f"{ALERTS}/{found.group(1)}/test", {}),
        (f"{ALERTS}/{found.group(1)}/remove", {}),
        (THRESHOLDS, {"rule": "expired_invite", "name": "days", "value": "9"}),
    ):
        posted = await viewer.post(path, data={**data, "csrf_token": token})
        assert posted.status_code == 403, path
    assert receiver.posted == []
    after = await admin.get(ALERTS)
    assert after.text.count('/remove"') == 1
    assert "Mine" not in after.text
    async with web_client(server) as stranger:
        assert (await stranger.get(ALERTS)).headers["location"] == "/login"


async def test_thresholds_are_set_overridden_and_cleared(
    admin: httpx.AsyncClient,
    new_integration: Integration,
    server: Server,
    engine: Engine,
) -> None:
    page = await admin.get(THRESHOLDS)
    assert page.status_code == 200
    assert '<dd id="t-expired_invite-days-range">0 to 3650 days</dd>' in page.text
    assert (
        '<dd id="t-sso_certificate_expiring-days-range">1 to 365 days</dd>' in page.text
    )
    rule = {"rule": "expired_invite", "name": "days"}
    set_global = await post_form(admin, THRESHOLDS, {**rule, "value": "14"}, THRESHOLDS)
    assert set_global.status_code == 303
    override = await post_form(
        admin,
        THRESHOLDS,
        {**rule, "value": "3", "integration": str(new_integration.id)},
        THRESHOLDS,
    )
    assert override.status_code == 303
    shown = html.unescape((await admin.get(THRESHOLDS)).text)
    assert (
        f"Threshold expired_invite.days set to 3 for ‘{new_integration.name}’; "
        "it applies from the next evaluation." in shown
    )
    section = shown[shown.index('id="t-expired_invite-days"') :]
    section = section[: section.index("</section>")]
    assert "<dt>Global</dt><dd>14 days</dd>" in section
    assert f"<tr><td>{new_integration.name}</td><td>3 days</td>" in section
    cleared = await post_form(
        admin,
        THRESHOLDS,
        {**rule, "value": "", "integration": str(new_integration.id)},
        THRESHOLDS,
    )
    assert cleared.status_code == 303
    after = (await admin.get(THRESHOLDS)).text
    section = after[after.index('id="t-expired_invite-days"') :]
    section = section[: section.index("</section>")]
    assert "No integration has its own value." in section
    assert "<dt>Global</dt><dd>14 days</dd>" in section
    with Session(engine) as session:
        latest = session.scalars(
            select(AuditEventRow).order_by(AuditEventRow.id.desc()).limit(3)
        ).all()
    assert [(r.actor, r.source, r.action) for r in latest] == [
        (server.admin, "127.0.0.1", "threshold.set")
    ] * 3


async def test_an_out_of_range_threshold_is_refused_beside_it_and_nothing_changes(
    admin: httpx.AsyncClient,
) -> None:
    rule = {"rule": "sso_certificate_expiring", "name": "days"}
    refused = await post_form(admin, THRESHOLDS, {**rule, "value": "400"}, THRESHOLDS)
    assert refused.status_code == 422
    assert field_error(refused.text, "t-sso_certificate_expiring-days") == (
        "sso_certificate_expiring.days must be from 1 to 365 days, not 400. "
        "Nothing was changed."
    )
    words = await post_form(admin, THRESHOLDS, {**rule, "value": "ten"}, THRESHOLDS)
    assert words.status_code == 422
    assert field_error(words.text, "t-sso_certificate_expiring-days") == (
        "sso_certificate_expiring.days is a whole number. Nothing was changed."
    )
    for text in ("--5", "-", "5-", "²", "１２", "1e3"):
        odd = await post_form(admin, THRESHOLDS, {**rule, "value": text}, THRESHOLDS)
        assert odd.status_code == 422, text
        assert field_error(odd.text, "t-sso_certificate_expiring-days") == (
            "sso_certificate_expiring.days is a whole number. Nothing was changed."
        )
    for text in ("3650000000000", "-99999999999999999999999"):
        long = await post_form(admin, THRESHOLDS, {**rule, "value": text}, THRESHOLDS)
        assert long.status_code == 422, text
        assert field_error(long.text, "t-sso_certificate_expiring-days") == (
            "sso_certificate_expiring.days must be from 1 to 365 days; "
            "that number is too long. Nothing was changed."
        )
    page = (await admin.get(THRESHOLDS)).text
    section = page[page.index('id="t-sso_certificate_expiring-days"') :]
    section = section[: section.index("</section>")]
    assert "not set: the built-in default applies" in section
    unknown = await post_form(
        admin, THRESHOLDS, {"rule": "nope", "name": "days", "value": "1"}, THRESHOLDS
    )
    assert unknown.status_code == 422


def test_every_option_flag_is_worded_on_the_form() -> None:
    """The form says what a field is where the CLI's refusal names its flag."""
    from smp.services.alerts.channels import OPTION_FIELDS
    from smp.web.pages_alert_settings import _worded

    assert _worded("--smtp-port must be from 1 to 65535") == (
        "The port must be from 1 to 65535"
    )
    for flag in OPTION_FIELDS:
        assert "--" not in _worded(f"{flag} is refused"), flag
