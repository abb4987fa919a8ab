"""Validation usage per month as `smp usage` and `GET /api/v1/usage/validation`
show it: the world's jobs, "up to" segments x 1,500 addresses, and the words
for what SendGrid does not give. Expected figures come from the world.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections import Counter

from sqlalchemy.orm import Session
from tests.support.app import Server, asgi_client, connect_and_sync
from tests.support.html import html_problems
from tests.support.simulator import forget_world, new_key
from tests.support.web import sign_in, web_client
from typer.testing import CliRunner

from smp.cli.main import app
from smp.model.access import ValidationJob
from smp.services.onboarding import add_key
from smp.simulator import Account
from smp.storage.access import save_validation_jobs
from smp.sync.engine import run_sync


def expected_months(account: Account) -> list[dict[str, object]]:
    jobs: Counter[str] = Counter()
    segments: Counter[str] = Counter()
    for job in account.validation_jobs:
        started = dt.datetime.fromtimestamp(job["started_at"], dt.UTC)
        jobs[started.strftime("%Y-%m")] += 1
        segments[started.strftime("%Y-%m")] += job.get("segments", 0)
    return [
        {"month": m, "jobs": jobs[m], "segments": segments[m], "jobs_not_read": 0,
         "addresses_up_to": segments[m] * 1500,
         "summary": f"{segments[m]:,} segments, up to {segments[m] * 1500:,} "
                    "addresses"}
        for m in sorted(jobs)
    ]  # fmt: skip


def _usage(*args: str) -> str:
    result = CliRunner().invoke(app, ["usage", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _api(server: Server, iid: int) -> dict[str, object]:
    async def get() -> dict[str, object]:
        async with asgi_client(server) as client:
            answer = await client.get(
                f"/api/v1/usage/validation?integration={iid}",
                headers=server.auth(server.admin_token),
            )
        assert answer.status_code == 200, answer.text
        body: dict[str, object] = answer.json()
        return body

    return asyncio.run(get())


def _html(server: Server, iid: int) -> str:
    async def get() -> str:
        async with web_client(server) as client:
            signed = await sign_in(client, server.viewer)
            assert signed.status_code in (302, 303), signed.text
            page = await client.get(f"/integrations/{iid}")
        assert page.status_code == 200, page.text
        return page.text

    return asyncio.run(get())


def _dashboard(server: Server, iid: int) -> str:
    return " ".join(_html(server, iid).split())


def test_usage_shows_validation_per_month_and_what_sendgrid_does_not_give(
    server: Server, cli_env: None
) -> None:
    setup = server.setup
    forget_world(setup.engine, server.world)
    iid = asyncio.run(connect_and_sync(server, "Validation usage", ("full",)))
    # No validation key yet: said, with the fix, and no figures.
    unread = _usage(str(iid))
    assert "No e-mail validation key is connected" in " ".join(unread.split())
    assert json.loads(_usage(str(iid), "--json"))["validation"]["months"] == []
    before = _api(server, iid)
    assert (before["readable"], before["months"]) == (False, [])
    page = _dashboard(server, iid)
    assert 'data-testid="validation-unreadable"' in page
    assert 'data-testid="validation-table"' not in page

    async def with_key() -> None:
        key = new_key(server.world, "validation")
        await add_key(setup.engine, setup.box, iid, key, setup.context)
        await run_sync(setup.engine, setup.box, iid, setup.context)

    asyncio.run(with_key())
    months = expected_months(server.world.accounts[0])
    assert months
    body = _api(server, iid)
    assert (body["readable"], body["months"]) == (True, months)
    assert body["single_validations"] == "not available from SendGrid"
    assert "1,500" in str(body["note"])
    assert json.loads(_usage(str(iid), "--json"))["validation"]["months"] == months
    text = " ".join(_usage(str(iid)).split())
    for month in months:
        assert f"{month['month']} " in text
        assert f"up to {month['addresses_up_to']:,}" in text
    assert "single validations are not available from SendGrid" in text
    assert "No e-mail validation key" not in text
    page = _dashboard(server, iid)
    assert 'data-testid="validation-unreadable"' not in page
    for month in months:
        assert (
            f'<tr><td>{month["month"]}</td><td class="num">{month["jobs"]:,}</td>'
            f'<td class="num">{month["segments"]:,}</td>'
            f'<td class="num">up to {month["addresses_up_to"]:,}</td></tr>'
        ) in page
    assert "single validations are not available from SendGrid" in page

    # A job listed whose details SMP never read: its month says so, no bound.
    latest = months[-1]
    started = dt.datetime.strptime(latest["month"], "%Y-%m").replace(tzinfo=dt.UTC)
    with Session(setup.engine) as session, session.begin():
        save_validation_jobs(
            session,
            iid,
            [ValidationJob("job-not-read", "Processing", started_at=started)],
            source_sa_id=None,
            now=started,
        )
    incomplete = {
        **latest,
        "jobs": latest["jobs"] + 1,
        "jobs_not_read": 1,
        "addresses_up_to": None,
        "summary": f"at least {latest['segments']:,} segments; 1 job not read",
    }
    assert _api(server, iid)["months"][-1] == incomplete
    assert json.loads(_usage(str(iid), "--json"))["validation"]["months"][-1] == (
        incomplete
    )
    text = " ".join(_usage(str(iid)).split())
    assert f"up to {latest['addresses_up_to']:,}" not in text
    assert (
        f"{latest['month']}: at least {latest['segments']:,} segments; 1 job not "
        "read, so no upper bound of addresses."
    ) in text
    assert (
        f'<tr data-testid="validation-incomplete"><td>{latest["month"]}</td>'
        f'<td class="num">{latest["jobs"] + 1:,}</td>'
        f'<td class="num">at least {latest["segments"]:,}</td>'
        '<td class="num">unknown: 1 job not read</td></tr>'
    ) in _dashboard(server, iid)
    assert html_problems(_html(server, iid)) == []  # the sweep's strict parse
