"""The API refuses wrong key combinations, a second integration of one account and
an unconfirmed billing key; every refusal leaves nothing stored."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from tests.support.connect_site import Site, open_site, stored


@pytest.fixture(scope="module")
def site(engine: Engine) -> Iterator[Site]:
    with open_site(engine) as opened:
        yield opened


def _key(site: Site, kind: str, account: int, slot: str = "access") -> dict[str, str]:
    return {
        "label": f"{kind} {account}",
        "key": site.key(kind, account).key,
        "slot": slot,
    }


async def _connect(
    api: httpx.AsyncClient, site: Site, name: str, *keys: dict[str, str], **extra: Any
) -> httpx.Response:
    body = {"name": name, "keys": list(keys), **extra}
    answer = await api.post("/api/v1/integrations", json=body)
    if answer.status_code == 201:
        await site.app.state.smp.syncs.wait(answer.json()["integration"]["id"])
    return answer


async def _with_billing(
    api: httpx.AsyncClient, site: Site, name: str, account: int, billing_of: int
) -> httpx.Response:
    """Account `account`'s full key with `billing_of`'s billing key, confirmed."""
    access, billing = _key(site, "full", account), _key(site, "billing", billing_of)
    billing["slot"] = "billing"
    return await _connect(
        api, site, name, access, billing, billing_account_confirmed=True
    )


def _shown(site: Site, kind: str, account: int) -> str:
    return f"{kind} {account} (SG.{site.key(kind, account).key_id}…)"


async def test_each_wrong_connection_is_refused_and_stores_nothing(site: Site) -> None:
    site.fresh()
    async with site.client(site.admin_token) as api:
        first = await _connect(api, site, "Acme mail", _key(site, "full", 0))
        assert first.status_code == 201, first.text
        before = stored(site.engine)
        one, two = site.username(0), site.username(1)
        cases: list[tuple[str, list[dict[str, str]], int, str]] = [
            (
                "the same account, another key",
                [_key(site, "restricted", 0)],
                409,
                f"account {one} is already connected as integration 'Acme mail'; "
                "add keys to it with POST /api/v1/service-accounts",
            ),
            (
                "a billing key as the access token",
                [_key(site, "billing", 1)],
                422,
                f"{_shown(site, 'billing', 1)}: this is a billing key: give it as "
                "the access token with billing permissions",
            ),
            (
                "an e-mail validation key as the access token",
                [_key(site, "validation", 1)],
                422,
                f"{_shown(site, 'validation', 1)}: this is an e-mail validation "
                "key: add it to the integration in Service settings "
                "(`smp service-account add`)",
            ),
            (
                "a swapped pair",
                [_key(site, "billing", 1), _key(site, "full", 1, "billing")],
                422,
                f"the two keys look swapped: {_shown(site, 'billing', 1)} is a "
                f"billing key and {_shown(site, 'full', 1)} is not; give each in "
                "the other's place",
            ),
            (
                "a billing slot key that cannot read billing",
                [_key(site, "full", 1), _key(site, "restricted", 1, "billing")],
                422,
                f"{_shown(site, 'restricted', 1)}: this key cannot read billing; the "
                "access token with billing permissions needs billing.read, which "
                "SendGrid gives only to a separate key with Billing Access",
            ),
            (
                "an unconfirmed billing key",
                [_key(site, "full", 1), _key(site, "billing", 1, "billing")],
                422,
                f"{_shown(site, 'billing', 1)}: SendGrid does not let a billing key "
                "tell which account it belongs to; if it belongs to SendGrid "
                f"account {two}, set billing_account_confirmed to true",
            ),
            (
                "a billing key alone",
                [_key(site, "billing", 1, "billing")],
                422,
                "an integration needs an access token that reads members or usage, "
                "next to any billing key",
            ),
        ]
        for case, keys, status, detail in cases:
            answer = await _connect(api, site, f"Refused: {case}", *keys)
            assert answer.status_code == status, (case, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.json()["detail"] == detail, case
            assert stored(site.engine) == before, case
            for key in keys:
                assert key["key"] not in answer.text


async def test_a_billing_key_is_confirmed_once_and_serves_one_integration(
    site: Site,
) -> None:
    site.fresh()
    async with site.client(site.admin_token) as api:
        started = dt.datetime.now(dt.UTC)
        first = await _with_billing(api, site, "Acme mail", 0, 0)
        assert first.status_code == 201, first.text
        created = first.json()["integration"]
        assert created["billing_confirmed_by"] == f"{site.admin} (API)"
        at = dt.datetime.fromisoformat(created["billing_confirmed_at"])
        assert started <= at <= dt.datetime.now(dt.UTC)
        read = await api.get(f"/api/v1/integrations/{created['id']}")
        assert read.json()["billing_confirmed_by"] == f"{site.admin} (API)"
        before = stored(site.engine)
        taken = await _with_billing(api, site, "Other mail", 1, 0)
        assert taken.status_code == 409, taken.text
        assert taken.json()["detail"] == (
            f"{_shown(site, 'billing', 0)} is already connected to integration "
            "'Acme mail'"
        )
        assert stored(site.engine) == before
        second = await _connect(api, site, "Other mail", _key(site, "full", 1))
        assert second.status_code == 201, second.text
        other = second.json()["integration"]["id"]
        assert second.json()["integration"]["billing_confirmed_by"] is None
        before = stored(site.engine)
        add: dict[str, Any] = {
            "integration_id": other,
            "label": "billing",
            "key": site.key("billing", 1).key,
        }
        unconfirmed = await api.post("/api/v1/service-accounts", json=add)
        assert unconfirmed.status_code == 422, unconfirmed.text
        assert unconfirmed.json()["detail"].endswith(
            f"if it belongs to SendGrid account {site.username(1)}, "
            "set billing_account_confirmed to true"
        )
        assert stored(site.engine) == before
        elsewhere = {**add, "key": site.key("billing", 0).key}
        elsewhere["billing_account_confirmed"] = True
        used = await api.post("/api/v1/service-accounts", json=elsewhere)
        assert used.status_code == 409, used.text
        assert stored(site.engine) == before
        add["billing_account_confirmed"] = True
        added = await api.post("/api/v1/service-accounts", json=add)
        assert added.status_code == 201, added.text
        assert added.json()["service_account"]["kind"] == "billing"
        read = await api.get(f"/api/v1/integrations/{other}")
        assert read.json()["billing_confirmed_by"] == f"{site.admin} (API)"
