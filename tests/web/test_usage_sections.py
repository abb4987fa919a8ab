"""The dashboard's credits, volume and subusers sections against the world.

The volume chart stacks the parent's own sends and each subuser's (SendGrid's
parent statistics do not include subusers) from the first month with sends;
an ended credit period has no forecast; data no key can read is said so, with
the scope to add, instead of "No subusers." and an empty chart.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import json
import re
from typing import Any

import pytest
from sqlalchemy import Engine
from tests.support.app import Server, connect_and_sync, make_server, small_world
from tests.support.usage import clock_at, midnight, monthly_requests, without_scope
from tests.support.web import sign_in, web_client

from smp.simulator import World

CHART_DATA = re.compile(
    r'<script type="application/json" id="chart-data">(.*?)</script>'
)


async def dashboard(srv: Server, integration_id: int) -> str:
    async with web_client(srv) as client:
        await sign_in(client, srv.viewer)
        answer = await client.get(f"/integrations/{integration_id}")
    assert answer.status_code == 200, answer.text
    return answer.text


def charts(page: str) -> dict[str, Any]:
    found = CHART_DATA.search(page)
    assert found is not None
    return json.loads(found.group(1))  # type: ignore[no-any-return]


def with_unlimited_subuser(world: World) -> World:
    """The second subuser's plan is unlimited: SendGrid answers null figures."""
    world.accounts[0].subusers[1].credits.update(  # type: ignore[typeddict-item]
        type="unlimited", reset_frequency=None, remain=None, total=None, used=None
    )
    return world


@pytest.fixture(scope="module")
def full(engine: Engine) -> tuple[Server, int]:
    srv = make_server(engine, with_unlimited_subuser(small_world(seed=14)))
    return srv, asyncio.run(connect_and_sync(srv, "usage sections"))


async def test_volume_stacks_the_parent_and_subusers_from_the_first_sending_month(
    full: tuple[Server, int],
) -> None:
    srv, iid = full
    account = srv.world.accounts[0]
    parent = monthly_requests(account.daily_stats)
    subusers = {s.username: monthly_requests(s.daily_stats) for s in account.subusers}
    sending = [
        m for series in [parent, *subusers.values()] for m, n in series.items() if n
    ]
    page = await dashboard(srv, iid)
    volume = charts(page)["volume"]
    # No leading months of zeros (the sync stores 24 months, the world sent 6).
    assert volume["months"][0] == min(sending)
    assert volume["months"][-1] == srv.world.today[:7]
    assert volume["parent"] == [parent.get(m, 0) for m in volume["months"]]
    assert volume["subusers"] == {
        name: [series.get(m, 0) for m in volume["months"]]
        for name, series in sorted(subusers.items())
    }
    whole = [
        parent.get(m, 0) + sum(series.get(m, 0) for series in subusers.values())
        for m in volume["months"]
    ]
    assert volume["total"] == whole
    # The table beside the chart labels the parts and the whole the same way.
    text = html.unescape(page)
    assert "Parent account's own sends" in text
    assert "Whole account" in text
    table = page[page.index('data-testid="volume-table"') :]
    last = volume["months"][-1]
    row = table[table.index(f"<td>{last}</td>") :].split("</tr>")[0]
    assert re.findall(r'class="num">([\d,]+)<', row) == [
        f"{parent[last]:,}",
        f"{whole[-1] - parent[last]:,}",
        f"{whole[-1]:,}",
    ]


async def test_an_unlimited_subuser_shows_unlimited(full: tuple[Server, int]) -> None:
    srv, iid = full
    unlimited = srv.world.accounts[0].subusers[1].username
    page = await dashboard(srv, iid)
    row = page[page.index(f"<td>{unlimited}</td>") :].split("</tr>")[0]
    assert "unlimited" in row
    assert "No subusers." not in page


async def test_an_ended_period_is_labelled_and_has_no_forecast(
    full: tuple[Server, int],
) -> None:
    srv, iid = full
    credits = srv.world.accounts[0].credits
    reset = midnight(credits["next_reset"])
    with clock_at(srv, reset - dt.timedelta(seconds=1)):
        running = await dashboard(srv, iid)
    assert 'data-testid="forecast"' in running
    assert 'data-testid="usage-legend"' in running
    assert 'data-testid="period-ended"' not in running
    assert charts(running)["usage"]["forecast"] is not None
    assert "last period" not in running
    for moment in (reset, reset + dt.timedelta(days=31)):
        with clock_at(srv, moment):
            ended = await dashboard(srv, iid)
        assert 'data-testid="period-ended"' in ended
        assert f"This credit period ended on {credits['next_reset']}" in ended
        assert 'data-testid="forecast"' not in ended
        assert 'data-testid="usage-legend"' not in ended
        assert "Utilization of the last period read" in ended
        assert charts(ended)["usage"]["forecast"] is None
        # Recurring subusers' credits were read before their monthly reset.
        recurring = [
            s
            for s in srv.world.accounts[0].subusers
            if s.credits["type"] == "recurring"
        ]
        assert recurring, "the world should have recurring subuser credits"
        assert ended.count(">last period</span>") == len(recurring)


async def test_what_the_key_cannot_read_is_said_not_drawn(db: Engine) -> None:
    srv = make_server(db, small_world(seed=15))
    iid = await connect_and_sync(srv, "restricted", ("restricted",))
    assert srv.world.accounts[0].subusers, "the account has subusers to miss"
    page = html.unescape(await dashboard(srv, iid))
    assert "This key cannot read subusers: add subusers.read" in page
    assert "No subusers." not in page
    assert "This key cannot read e-mail volume: add stats.read" in page
    # No chart drawn from nothing, and no table of zeros.
    assert 'id="volume-chart"' not in page
    assert 'data-testid="volume-table"' not in page
    assert charts(page)["volume"]["months"] == []
    # Credits it can read are shown as usual.
    assert 'data-testid="credits-unreadable"' not in page
    assert 'id="usage-chart"' in page
    # Invoices need a billing key: said, with no empty spend chart.
    assert (
        "This key cannot read invoices: connect a key with Billing Access "
        "(billing.read)" in page
    )
    assert 'id="spend-chart"' not in page


async def test_members_a_key_cannot_read_are_not_shown_as_none(db: Engine) -> None:
    world = without_scope(small_world(seed=18), "restricted", "teammates.read")
    srv = make_server(db, world)
    iid = await connect_and_sync(srv, "no teammates", ("restricted",))
    page = html.unescape(await dashboard(srv, iid))
    assert page.count("This key cannot read members: add teammates.read") == 2
    assert "This key cannot read pending invites: add teammates.read" in page
    assert "No members match." not in page
    assert "No changes recorded yet." not in page


async def test_without_subuser_stats_only_the_parents_own_sends_are_drawn(
    db: Engine,
) -> None:
    world = without_scope(small_world(seed=16), "full", "subusers.stats.read")
    srv = make_server(db, world)
    iid = await connect_and_sync(srv, "no subuser stats", ("full",))
    page = await dashboard(srv, iid)
    volume = charts(page)["volume"]
    parent = monthly_requests(world.accounts[0].daily_stats)
    assert volume["months"][0] == min(m for m, n in parent.items() if n)
    assert volume["parent"] == [parent.get(m, 0) for m in volume["months"]]
    # No subusers' figures, so no whole-account total that would be wrong.
    assert (volume["subusers"], volume["total"]) == ({}, None)
    text = html.unescape(page)
    assert "This key cannot read subusers' volume: add subusers.stats.read" in text
    assert "Whole account" not in text
    for sub in world.accounts[0].subusers:  # listed, their volume unknown
        row = page[page.index(f"<td>{sub.username}</td>") :].split("</tr>")[0]
        assert row.rstrip().endswith('<td class="num">—</td>')


async def test_credits_a_key_cannot_read_are_said_without_a_gauge(db: Engine) -> None:
    world = without_scope(small_world(seed=19), "restricted", "user.credits.read")
    srv = make_server(db, world)
    iid = await connect_and_sync(srv, "no credits", ("restricted",))
    page = html.unescape(await dashboard(srv, iid))
    assert page.count("This key cannot read credits: add user.credits.read") == 2
    assert "No credit data yet" not in page
    assert 'id="usage-chart"' not in page
    assert "usage" not in charts(page)
