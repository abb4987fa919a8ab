"""The security suite's site: one `smp serve` over http and one over https."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from tests.support.app import PASSWORD
from tests.support.serving import Served, SmpHome

from smp.simulator import World

INTEGRATION_NAME = "<img src=x onerror=alert('integration')>"
KEY_LABEL = "<b>full key</b>"
CHANNEL_NAME = "<i>alert channel</i>"
REVIEW_NAME = "<u>access review</u>"
# An alert channel's webhook: a closed local port, so a test message fails
# without leaving the machine.
CHANNEL_URL = "http://127.0.0.1:9/smp-alerts"


@dataclass
class Site:
    world: World
    home: SmpHome
    http: Served
    https: Served
    admin: str
    viewer: str
    admin_token: str
    viewer_token: str
    integration_id: int
    service_account_id: int
    run_id: int
    person_id: int
    # The imported directory's rows: email, first_name, last_name, status.
    people: list[dict[str, str]]
    # A finding the directory's terminated teammate makes (leaver_with_access).
    finding_id: int
    # An alert channel (a webhook named CHANNEL_NAME), a SendGrid key the sync
    # saw (its history), a review campaign (REVIEW_NAME) and one of its items.
    channel_id: int
    key_id: str
    campaign_id: int
    item_id: int

    @property
    def database(self) -> str:
        return "postgresql" if self.home.database_url else "sqlite"

    def bearer(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def api(self, token: str) -> httpx.Client:
        return self.http.client(headers=self.bearer(token))

    def path_values(self, name: str) -> dict[str, str]:
        return {
            "integration_id": str(self.integration_id),
            "service_account_id": str(self.service_account_id),
            "sa_id": str(self.service_account_id),
            "run_id": str(self.run_id),
            "dataset": "members",
            "name": name,
            # Nobody's token: revoking it is refused, and no test loses its own.
            "token_id": str(2**31 - 1),
            "person_id": str(self.person_id),
            # No such domain or link: removals find nothing.
            "domain": "nowhere.example",
            "email": "nobody@nowhere.example",
            "finding_id": str(self.finding_id),
            "rule_id": "too_many_admins",
            "threshold": "share_percent",
            "channel": str(self.channel_id),
            "channel_id": str(self.channel_id),
            "key_id": self.key_id,
            "campaign_id": str(self.campaign_id),
            "item_id": str(self.item_id),
            "suffix": ".csv",  # the audit export
        }


def log_in(client: httpx.Client, name: str, password: str = PASSWORD) -> httpx.Response:
    client.get("/login")
    token = client.cookies.get("smp_login_csrf", path="/login")
    return client.post(
        "/login", data={"username": name, "password": password, "csrf_token": token}
    )


@contextmanager
def sign_in(served: Served, name: str) -> Iterator[httpx.Client]:
    """A client holding a fresh session of `name`."""
    with served.client() as client:
        answer = log_in(client, name)
        assert answer.status_code == 303, answer.text
        yield client


def wait_for_run(client: httpx.Client, integration_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runs = client.get("/api/v1/sync-runs", params={"integration": integration_id})
        items = runs.json()["items"]
        if items and items[0]["finished_at"]:
            return dict(items[0])
        time.sleep(0.1)
    raise AssertionError("the first sync did not finish")
