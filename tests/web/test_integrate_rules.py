"""The Integrate form and Service settings refuse what the CLI and the API refuse,
each message at its field, and leave nothing stored; the billing confirmation is
a checkbox, recorded and shown in Service settings."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine
from tests.support.connect_site import Site, open_site, stored
from tests.support.web import csrf_of, sign_in

CONFIRM = "The billing key belongs to this SendGrid account"


@pytest.fixture(scope="module")
def site(engine: Engine) -> Iterator[Site]:
    with open_site(engine) as opened:
        yield opened


def messages(page: str) -> dict[str, str]:
    """Field id -> its error, and "form" -> the form-level alert."""
    found = {
        field: html.unescape(text)
        for field, text in re.findall(
            r'<p class="field-error" id="([a-z]+)-error" role="alert">([^<]*)</p>', page
        )
    }
    alert = re.search(r'<p class="alert error" role="alert"[^>]*>([^<]*)</p>', page)
    if alert:
        found["form"] = html.unescape(alert.group(1))
    return found


def as_sentence(message: str) -> str:
    """The page shows each message as a sentence: a capital first, a full stop last."""
    return message[0].upper() + message[1:] + ("" if message.endswith(".") else ".")


async def integrate(
    client: httpx.AsyncClient,
    name: str,
    access: str,
    billing: str = "",
    tick: bool = False,
) -> httpx.Response:
    form = await client.get("/integrations/sendgrid/new")
    data = {
        "name": name,
        "access_token": access,
        "billing_token": billing,
        "csrf_token": csrf_of(form.text),
    }
    if tick:
        data["billing_account_confirmed"] = "yes"
    return await client.post("/integrations/sendgrid", data=data)


def _shown(site: Site, label: str, kind: str, account: int) -> str:
    return f"{label} (SG.{site.key(kind, account).key_id}…)"


async def test_the_form_refuses_each_wrong_connection_at_its_field(site: Site) -> None:
    site.fresh()
    access, billing = "Access token", "Access token with billing permissions"
    one, two = site.username(0), site.username(1)
    async with site.client() as client:
        await sign_in(client, site.admin)
        first = await integrate(client, "Acme mail", site.key("full", 0).key)
        assert "Connected: Acme mail" in first.text, first.text
        before = stored(site.engine)
        cases = [
            (
                ("restricted", 0, None),
                "access",
                f"account {one} is already connected as integration 'Acme mail'; "
                "add keys to it in its Service settings",
            ),
            (
                ("billing", 1, None),
                "access",
                f"{_shown(site, access, 'billing', 1)}: this is a billing key: give "
                "it as the access token with billing permissions",
            ),
            (
                ("validation", 1, None),
                "access",
                f"{_shown(site, access, 'validation', 1)}: this is an e-mail "
                "validation key: add it to the integration in Service settings "
                "(`smp service-account add`)",
            ),
            (
                ("billing", 1, "full"),
                "form",
                f"the two keys look swapped: {_shown(site, access, 'billing', 1)} is "
                f"a billing key and {_shown(site, billing, 'full', 1)} is not; give "
                "each in the other's place",
            ),
            (
                ("full", 1, "restricted"),
                "billing",
                f"{_shown(site, billing, 'restricted', 1)}: this key cannot read "
                "billing; the access token with billing permissions needs "
                "billing.read, which SendGrid gives only to a separate key with "
                "Billing Access",
            ),
            (
                ("full", 1, "billing"),
                "billing",
                f"{_shown(site, billing, 'billing', 1)}: SendGrid does not let a "
                "billing key tell which account it belongs to; if it belongs to "
                f"SendGrid account {two}, tick “{CONFIRM}”",
            ),
        ]
        for (kind, account, second), field, message in cases:
            raw = site.key(kind, account).key
            other = site.key(second, account).key if second else ""
            page = await integrate(client, "Refused", raw, other)
            assert page.status_code == 422, (kind, second)
            assert messages(page.text) == {field: as_sentence(message)}, (kind, second)
            assert raw not in page.text
            assert stored(site.engine) == before, (kind, second)


async def test_a_ticked_billing_key_is_recorded_and_shown_in_service_settings(
    site: Site,
) -> None:
    site.fresh()
    async with site.client() as client:
        await sign_in(client, site.admin)
        done = await integrate(
            client,
            "Acme mail",
            site.key("full", 0).key,
            site.key("billing", 0).key,
            tick=True,
        )
        assert "Connected: Acme mail" in done.text, messages(done.text)
        iid = int(re.search(r'href="/integrations/(\d+)"', done.text).group(1))  # type: ignore[union-attr]
        await site.app.state.smp.syncs.wait(iid)
        settings = await client.get(f"/integrations/{iid}/settings")
        assert (
            f"The billing key's account was confirmed by {site.admin} (web)"
            in " ".join(settings.text.split())
        )
        other = await integrate(client, "Other mail", site.key("full", 1).key)
        oid = int(re.search(r'href="/integrations/(\d+)"', other.text).group(1))  # type: ignore[union-attr]
        await site.app.state.smp.syncs.wait(oid)
        before = stored(site.engine)
        page = await client.get(f"/integrations/{oid}/settings")
        add = {
            "label": "billing",
            "key": site.key("billing", 1).key,
            "csrf_token": csrf_of(page.text),
        }
        refused = await client.post(f"/integrations/{oid}/service-accounts", data=add)
        assert refused.status_code == 422
        assert (
            html.unescape(refused.text).count(
                f"account {site.username(1)}, tick “{CONFIRM}”"
            )
            == 1
        )
        taken = await client.post(
            f"/integrations/{oid}/service-accounts",
            data={
                **add,
                "key": site.key("billing", 0).key,
                "billing_account_confirmed": "yes",
            },
        )
        assert taken.status_code == 409
        assert stored(site.engine) == before
        added = await client.post(
            f"/integrations/{oid}/service-accounts",
            data={**add, "billing_account_confirmed": "yes"},
        )
        assert added.status_code == 201, messages(added.text)
        assert f"confirmed by {site.admin} (web)" in " ".join(added.text.split())
