"""Real Chromium (Debian's, driven by Playwright) against a real server on loopback.

Sign in, click Integrate, paste the simulator's full and billing keys, wait
for the sync, and check the dashboard against the world's ground truth. A
viewer sees no "Add service account" and gets 403 posting anyway. Every page
is saved as a screenshot under test-artifacts/screenshots/.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from tests.api.appkit import (
    PASSWORD,
    Server,
    invoice_total,
    make_server,
    roles_in_world,
    utilization,
)

from smp.cli.loopback import serve_app
from smp.storage import make_engine, migrate

CHROMIUM = Path("/usr/bin/chromium")
CONFIRM = "The billing key belongs to this SendGrid account"
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]

pytestmark = [pytest.mark.browser, pytest.mark.loopback]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    if not CHROMIUM.exists():
        if os.environ.get("SMP_REQUIRE_SERVICES"):
            pytest.fail(f"{CHROMIUM} is missing, and CI requires the browser tests")
        pytest.skip(f"{CHROMIUM} is missing")
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('web') / 'smp.db'}")
    migrate(engine)
    srv = make_server(engine)
    with serve_app(srv.app, name="SMP") as base:
        yield srv, base
    engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        opened = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield opened
        opened.close()


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Page, base: str, name: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/integrations")


def test_integrate_and_dashboard_show_the_world(
    live: tuple[Server, str], browser: Browser
) -> None:
    srv, base = live
    context = browser.new_context(viewport={"width": 1366, "height": 800})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{base}/login")
    shot(page, "01-login")
    sign_in(page, base, srv.admin)
    shot(page, "02-integrations-empty")
    page.get_by_role("link", name="Integrate").click()
    page.get_by_label("Access token", exact=True).fill(srv.key("full"))
    page.get_by_label("Access token with billing permissions").fill(srv.key("billing"))
    page.get_by_label(CONFIRM).check()
    shot(page, "03-integrate-form")
    page.get_by_role("button", name="Check keys and connect").click()
    page.get_by_text("The keys were checked and stored").wait_for()
    shot(page, "04-integrate-result")
    assert "billing.read" in page.content()  # the full key's missing permission
    page.get_by_role("link", name="Open dashboard").click()
    page.get_by_text("Last sync:").wait_for(timeout=20_000)  # the page refreshes
    page.locator("#usage-chart .main-svg").first.wait_for()
    page.locator("#spend-chart .main-svg").first.wait_for()
    page.locator("#volume-chart .main-svg").first.wait_for()
    shot(page, "05-dashboard")
    for role, count in roles_in_world(srv.world).items():
        assert page.get_by_test_id(f"role-count-{role}").get_attribute(
            "data-count"
        ) == str(count)
    total = page.get_by_test_id("invoice-total").inner_text()
    assert f"{invoice_total(srv.world):,.2f} USD" in total
    assert page.get_by_test_id("utilization").inner_text() == (
        f"{utilization(srv.world) * 100:.1f} %"
    )
    page.get_by_label("Role").select_option("admin")
    page.get_by_label("Status").select_option("active")
    page.get_by_role("button", name="Filter").click()
    matches = page.get_by_test_id("members-total").inner_text()
    assert matches.startswith(str(roles_in_world(srv.world)["admin"]))
    shot(page, "06-dashboard-filtered")
    page.get_by_role("link", name="Service settings").first.click()
    page.get_by_role("heading", name="Service accounts").wait_for()
    shot(page, "07-service-settings")
    page.goto(f"{base}/users")
    shot(page, "08-users")
    page.goto(f"{base}/docs")
    shot(page, "09-api-docs")
    page.goto(f"{base}/integrations")
    shot(page, "10-integrations")
    html = page.content()
    for kind in ("full", "billing"):
        assert srv.key(kind).split(".")[2] not in html
    context.close()
    assert problems == []


def test_viewer_has_no_write_controls_and_gets_403(
    live: tuple[Server, str], browser: Browser
) -> None:
    srv, base = live
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    sign_in(page, base, srv.viewer)
    page.get_by_role("link", name="Service settings").first.click()
    page.get_by_role("heading", name="Service accounts").wait_for()
    shot(page, "11-viewer-settings")
    assert page.get_by_role("button", name="Add service account").count() == 0
    assert page.get_by_role("button", name="Sync now").count() == 0
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    assert token
    action = page.url.replace("/settings", "/service-accounts")
    answer = page.request.post(
        action, form={"label": "x", "key": srv.key("billing"), "csrf_token": token}
    )
    assert answer.status == 403
    context.close()
