"""`GET /api/v1/reviews/{id}/evidence`: the pack as a zip for admins, a draft
while the campaign is open, 403 for a viewer and 404 for no campaign; the
zip's files verify with `smp reviews verify` once unpacked."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from tests.support.app import Server, asgi_client, connect_and_sync
from typer.testing import CliRunner

from smp.cli.main import app
from smp.model.reviews import ReviewerRule
from smp.services import reviews
from smp.services.reviews import Actor

# The API's words and shapes; the pack itself runs on both databases in
# test_evidence_pack.
pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)

ROOT = Actor("root", True, "test")
NOW = dt.datetime(2027, 2, 28, 23, 0, tzinfo=dt.UTC)


@pytest.fixture
async def client(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(server) as opened:
        yield opened


@pytest.fixture(scope="module")
def campaign_id(server: Server, engine: Engine) -> int:
    asyncio.run(connect_and_sync(server, "Evidence API"))
    made = reviews.create_campaign(
        engine,
        name="API evidence",
        integrations=["Evidence API"],
        due=None,
        rule=ReviewerRule.OWNER,
        actor=ROOT,
        now=NOW,
    )
    return made.id


async def test_an_admin_gets_the_pack_as_a_zip(
    server: Server, client: httpx.AsyncClient, campaign_id: int, tmp_path: Path
) -> None:
    answer = await client.get(
        f"/api/v1/reviews/{campaign_id}/evidence",
        headers=server.auth(server.admin_token),
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    assert (
        f'filename="review-{campaign_id}-evidence-draft.zip"'
        in answer.headers["content-disposition"]
    )
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        assert sorted(archive.namelist()) == [
            "campaign.json",
            "manifest.json",
            "report.html",
            "reviews.xlsx",
        ]
        archive.extractall(tmp_path / "pack")
    manifest = json.loads((tmp_path / "pack" / "manifest.json").read_text())
    assert (manifest["campaign_id"], manifest["draft"]) == (campaign_id, True)
    verified = CliRunner().invoke(app, ["reviews", "verify", str(tmp_path / "pack")])
    assert verified.exit_code == 0, verified.output


async def test_a_viewer_is_refused_and_an_unknown_campaign_is_404(
    server: Server, client: httpx.AsyncClient, campaign_id: int
) -> None:
    viewer = await client.get(
        f"/api/v1/reviews/{campaign_id}/evidence",
        headers=server.auth(server.viewer_token),
    )
    assert viewer.status_code == 403
    missing = await client.get(
        "/api/v1/reviews/999999/evidence", headers=server.auth(server.admin_token)
    )
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
