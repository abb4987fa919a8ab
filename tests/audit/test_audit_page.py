"""The audit page: admins only, filters, paging, the verify button, the export."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import Engine, text
from tests.support.app import Server
from tests.support.web import csrf_of, sign_in, web_client

pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


async def test_viewers_are_refused(server: Server) -> None:
    async with web_client(server, "203.0.113.9") as client:
        assert (await sign_in(client, server.viewer)).status_code == 303
        assert (await client.get("/audit")).status_code == 403
        assert (await client.get("/audit/export.csv")).status_code == 403
        home = await client.get("/integrations")
        assert 'href="/audit"' not in home.text


async def test_admins_filter_verify_and_export(server: Server, engine: Engine) -> None:
    async with web_client(server, "203.0.113.10") as client:
        assert (await sign_in(client, server.admin)).status_code == 303
        page = await client.get("/audit", params={"action": "login"})
        assert page.status_code == 200
        assert 'href="/audit"' in page.text
        assert "203.0.113.10" in page.text
        assert "user.add" not in page.text
        bad = await client.get("/audit", params={"since": "31/01/2027"})
        assert bad.status_code == 422
        assert "The start date must be a date like 2027-01-31." in bad.text
        checked = await client.post(
            "/audit/verify", data={"csrf_token": csrf_of(page.text)}
        )
        assert checked.status_code == 200
        assert "chain intact" in checked.text
        exported = await client.get("/audit/export.csv")
        assert exported.status_code == 200
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert rows[-1]["action"] == "login"
        assert rows[-1]["source"] == "203.0.113.10"
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE audit_events SET target = 'someone' WHERE id = 1")
            )
        broken = await client.post(
            "/audit/verify", data={"csrf_token": csrf_of(page.text)}
        )
        assert "The chain breaks at entry 1: it was edited" in broken.text
