"""Real Chromium (Debian's, driven by Playwright) against a real server on loopback.

Sign in, click Integrate, paste the simulator's full and billing keys, wait
for the sync, and check the dashboard against the world's ground truth. A
viewer sees no "Add service account" and gets 403 posting anyway. A sync
SendGrid does not answer is one message naming the host on the card. Every
page is saved as a screenshot under test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
from contextlib import ExitStack

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy.orm import Session
from tests.support.app import (
    PASSWORD,
    Server,
    invoice_total,
    roles_in_world,
    utilization,
)
from tests.support.simulator import key_of
from tests.web.browserkit import CONFIRM, shot, sign_in

from smp.simulator import FaultRule
from smp.storage import integration_lock, list_integrations

BILLING_LABEL = "Access token with billing permissions"
# A display name with a space, an accent and another script.
NEWCOMER = "Zoë 山田"  # shown as typed

pytestmark = [pytest.mark.browser, pytest.mark.loopback]


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
    # Each key's write scopes are folded away under its one-sentence warning.
    assert page.locator("details.write-scopes:not([open])").count() == 2
    assert (
        page.get_by_test_id("key-purpose")
        .inner_text()
        .startswith("A billing key is for invoices and billing")
    )
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


def admin_dashboard_without_charts(
    live: tuple[Server, str], browser: Browser
) -> tuple[BrowserContext, Page]:
    """An admin on the first integration's dashboard, in a context of its own."""
    srv, base = live
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    # No charts here: loading Plotly's 3 MB twice would be most of a test's time.
    context.route("**/vendor/plotly.min.js", lambda route: route.abort())
    page = context.new_page()
    sign_in(page, base, srv.admin)
    page.get_by_role("link", name="Dashboard").first.click()
    return context, page


def test_a_running_sync_is_polled_and_the_page_reloads_once_at_its_end(
    live: tuple[Server, str], browser: Browser
) -> None:
    """Not a reload every 2 seconds: the status line is asked for, then one reload."""
    srv = live[0]
    context, page = admin_dashboard_without_charts(live, browser)
    integration_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    with ExitStack() as held:
        # Holding the integration's lock keeps the sync waiting: running, for sure.
        held.enter_context(integration_lock(srv.setup.engine, integration_id))
        page.get_by_test_id("sync-now").click()
        page.get_by_test_id("sync-progress").wait_for()
        page.evaluate("window.stillTheSamePage = true")
        with page.expect_response(lambda r: "/sync-status" in r.url) as polled:
            pass
        assert polled.value.json()["running"] is True
        assert page.evaluate("window.stillTheSamePage") is True
        with page.expect_event("load", timeout=20_000):
            held.close()  # the sync runs and ends; the page reloads once
    assert page.evaluate("window.stillTheSamePage") is None
    assert page.get_by_test_id("last-sync-outcome").inner_text() == "ok"
    assert page.get_by_test_id("sync-now").is_enabled()
    context.close()


def test_a_sync_sendgrid_does_not_answer_is_one_message_naming_the_host(
    live: tuple[Server, str], browser: Browser
) -> None:
    srv, base = live
    context, page = admin_dashboard_without_charts(live, browser)
    srv.setup.sim.add_fault(FaultRule(kind="reset"))
    try:
        page.get_by_test_id("sync-now").click()
        # The poll reloads the page once the sync has ended.
        expect(page.get_by_test_id("last-sync-outcome")).to_have_text(
            "failed", timeout=20_000
        )
    finally:
        srv.setup.sim.clear_faults()
    page.goto(f"{base}/integrations")
    assert "failed" in page.get_by_test_id("last-sync").inner_text()
    errors = page.get_by_test_id("last-sync-error").all_inner_texts()
    assert len(errors) == 1
    assert "api.sendgrid.com" in errors[0]
    assert "/v3/" not in errors[0]
    shot(page, "12-sync-failed-card")
    context.close()


# Runs last in this module: it renames, empties and deletes what the first test
# connected, then connects the account again in the EU region.
def test_rename_remove_delete_and_region_ask_first_and_say_what_they_did(
    live: tuple[Server, str], browser: Browser
) -> None:
    srv, base = live
    account = srv.world.accounts[0]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    sign_in(page, base, srv.admin)
    page.get_by_role("link", name="Service settings").first.click()
    page.get_by_label("Name", exact=True).fill("Acme mail")
    page.get_by_role("button", name="Rename").click()
    flash = page.locator("#flash")
    assert flash.inner_text() == "Renamed ‘SendGrid’ to ‘Acme mail’."
    shot(page, "31-renamed")

    billing = BILLING_LABEL
    page.locator("summary", has_text=f"key {billing}").click()
    confirm = page.get_by_role("button", name=f"Remove key ‘{billing}’")
    confirm.wait_for()
    shot(page, "32-remove-key-asks")
    assert page.locator("tr.removed").count() == 0  # asking removed nothing
    confirm.click()
    billing_id = key_of(srv.world, "billing").key_id
    assert flash.inner_text() == (
        f"Removed key ‘{billing}’ (SG.{billing_id}…). "
        "It no longer syncs; what it collected is kept."
    )
    assert page.locator("tr.removed").count() == 1
    shot(page, "33-key-removed")

    page.get_by_role("link", name="Delete integration…").click()
    members = len(account.teammates) + len(account.pending)
    what = page.locator("#delete-what").inner_text()
    assert re.fullmatch(
        f"Delete integration ‘Acme mail’ and its 2 keys, {members} members and "
        f"invites, {len(account.subusers)} subusers, {len(account.invoices)} "
        r"invoices and \d+ sync runs?\? This cannot be undone\.",
        what,
    ), what
    shot(page, "34-delete-asks")
    page.get_by_role("button", name="Delete ‘Acme mail’").click()
    page.wait_for_url(f"{base}/integrations")
    assert flash.inner_text().startswith("Deleted integration ‘Acme mail’ and its 2 ")
    assert page.get_by_role("heading", name="Acme mail").count() == 0
    shot(page, "35-deleted")

    page.get_by_role("link", name="Integrate").click()
    # Until the load event, busy.js (at the end of the body) may not have run:
    # the submit listener below must come after its own.
    page.wait_for_url(f"{base}/integrations/sendgrid/new", wait_until="load")
    page.get_by_label("Name").fill("Acme EU")
    page.get_by_label("Region").select_option("eu")
    page.get_by_label("Access token", exact=True).fill(srv.key("full"))
    # What the button shows while the form submits, kept across the navigation.
    page.evaluate(
        """() => { const form = document.querySelector('form[data-busy]');
        form.addEventListener('submit', () => { const b = form.querySelector('button');
          sessionStorage.setItem('busy', JSON.stringify(
            [b.disabled, b.textContent, form.getAttribute('aria-busy')])); }); }"""
    )
    shot(page, "36-integrate-eu")
    page.get_by_role("button", name="Check keys and connect").click()
    page.get_by_text("The keys were checked and stored").wait_for()
    busy = page.evaluate("() => JSON.parse(sessionStorage.getItem('busy'))")
    assert busy == [True, "Checking keys…", "true"]
    with Session(srv.setup.engine) as session:
        regions = {i.name: i.region for i in list_integrations(session)}
    assert regions == {"Acme EU": "eu"}
    page.goto(f"{base}/integrations")
    assert "SendGrid EU" in page.locator("section", has_text="Acme EU").inner_text()
    shot(page, "37-integrated-eu")

    page.goto(f"{base}/users")
    page.get_by_label("Name", exact=True).fill(NEWCOMER)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Add user").click()
    assert flash.inner_text() == f"Added viewer ‘{NEWCOMER}’."
    page.locator("summary", has_text=f"user {NEWCOMER}").click()
    confirm = page.get_by_role("button", name=f"Remove user ‘{NEWCOMER}’")
    confirm.wait_for()
    shot(page, "38-remove-user-asks")
    confirm.click()
    assert flash.inner_text().startswith(f"Removed user ‘{NEWCOMER}’")
    assert page.get_by_role("cell", name=NEWCOMER, exact=True).count() == 0
    shot(page, "39-user-removed")
    context.close()
    assert problems == []
