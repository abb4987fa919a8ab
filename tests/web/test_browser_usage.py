"""Real Chromium on the dashboard's usage and volume: what Plotly draws.

The volume chart's legend names the parent account's own sends, each subuser
and their total; the gauge's forecast marker has a legend entry, and neither
exists once the period has ended; a key that cannot read subusers or volume
gets the scope to add and no chart at all. Screenshots go to
test-artifacts/screenshots/.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, Page
from tests.support.app import Server
from tests.support.simulator import forget_world
from tests.support.usage import midnight, monthly_requests
from tests.web.browserkit import CONFIRM, shot, sign_in


@contextmanager
def dashboard_of(
    browser: Browser, live: tuple[Server, str], name: str, *kinds: str
) -> Iterator[Page]:
    """A signed-in admin's page on a new integration of the world's keys
    (the first kind as the access token, a second as the billing one); the
    page must raise no script error."""
    srv, base = live
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    sign_in(page, base, srv.admin)
    forget_world(srv.setup.engine, srv.world)  # one account, one integration
    integrate(page, base, name, *(srv.key(kind) for kind in kinds))
    yield page
    context.close()
    assert problems == []


def integrate(page: Page, base: str, name: str, key: str, billing: str = "") -> None:
    page.goto(f"{base}/integrations")
    page.get_by_role("link", name="Integrate").click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Access token", exact=True).fill(key)
    if billing:
        page.get_by_label("Access token with billing permissions").fill(billing)
        page.get_by_label(CONFIRM).check()
    page.get_by_role("button", name="Check keys and connect").click()
    page.get_by_text("The keys were checked and stored").wait_for()
    page.get_by_role("link", name="Open dashboard").click()
    page.get_by_text("Last sync:").wait_for(timeout=20_000)  # the page refreshes


def test_volume_legend_forecast_marker_and_an_ended_period(
    live: tuple[Server, str], browser: Browser
) -> None:
    srv, base = live
    with dashboard_of(browser, live, "Usage in Chromium", "full", "billing") as page:
        check_volume_and_ended_period(srv, base, page)


def check_volume_and_ended_period(srv: Server, base: str, page: Page) -> None:
    page.locator("#volume-chart .legendtext").first.wait_for()
    account = srv.world.accounts[0]
    legend = page.locator("#volume-chart .legendtext").all_text_contents()
    assert legend == [
        "parent account's own sends",
        *(
            f"subuser {s.username}"
            for s in sorted(account.subusers, key=lambda s: s.username)
        ),
        "whole account (parent + subusers)",
    ]
    # One bar per month from the first with sends, none for the empty history.
    sending = {m for m, n in monthly_requests(account.daily_stats).items() if n}
    for sub in account.subusers:
        sending |= {m for m, n in monthly_requests(sub.daily_stats).items() if n}
    first = min(sending)
    months = (int(srv.world.today[:4]) - int(first[:4])) * 12 + (
        int(srv.world.today[5:7]) - int(first[5:7])
    )
    bars = page.locator("#volume-chart .trace.bars").first.locator(".point")
    assert bars.count() == months + 1
    assert page.get_by_test_id("usage-legend").is_visible()
    assert page.get_by_test_id("forecast").is_visible()
    shot(page, "20-usage-running")

    reset = midnight(account.credits["next_reset"])
    dashboard = page.url
    before = srv.setup.context.now
    srv.setup.context.now = lambda: reset + dt.timedelta(hours=1)
    try:
        sign_in(page, base, srv.admin)  # the moved clock ended the old session
        page.goto(dashboard)
        page.locator("#usage-chart .main-svg").first.wait_for()
        assert page.get_by_test_id("period-ended").is_visible()
        assert page.get_by_test_id("forecast").count() == 0
        assert page.get_by_test_id("usage-legend").count() == 0
        shot(page, "21-usage-ended")
    finally:
        srv.setup.context.now = before


def test_a_key_without_subusers_or_stats_gets_the_scope_not_a_chart(
    live: tuple[Server, str], browser: Browser
) -> None:
    with dashboard_of(browser, live, "Restricted in Chromium", "restricted") as page:
        page.locator("#usage-chart .main-svg").first.wait_for()
        for text in (
            "This key cannot read subusers: add subusers.read",
            "This key cannot read e-mail volume: add stats.read",
        ):
            assert page.get_by_text(text).is_visible()
        assert page.get_by_text("No subusers.").count() == 0
        assert page.locator("#volume-chart").count() == 0
        shot(page, "22-usage-restricted-key")
