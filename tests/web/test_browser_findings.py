"""Chromium: an admin narrows the Findings page with its filters, opens a finding,
snoozes it with the browser's date picker value, and sees it gone from the open
list and counted under snoozed; the integration card links to its findings.

The ground truth is tests/support/finding_rows.py (two leavers with access,
both high severity, among ten open findings).
"""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import Browser, Page, expect
from tests.support.app import Server
from tests.support.finding_rows import seed_findings_world
from tests.web.browserkit import shot, sign_in

from smp.storage.findings import evaluate_findings

pytestmark = [pytest.mark.browser, pytest.mark.loopback]


def test_an_admin_filters_opens_and_snoozes_a_finding(
    live: tuple[Server, str], browser: Browser
) -> None:
    srv, base = live
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    seeded = seed_findings_world(srv.setup.engine, now)
    evaluate_findings(
        srv.setup.engine, now=now, integration_ids=[seeded.integration_id]
    )
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        snooze_a_leaver(srv, base, context.new_page(), seeded.name, now.date())
    finally:
        context.close()


def snooze_a_leaver(
    srv: Server, base: str, page: Page, integration: str, today: dt.date
) -> None:
    sign_in(page, base, srv.admin)
    card = page.locator(
        "section.card", has=page.get_by_role("heading", name=integration)
    )
    # Ten open findings: 100 − 5×20 − 2×8 − 3×2, floored at 0.
    expect(card.get_by_test_id("posture-score")).to_have_text("0")
    card.get_by_role("link", name="Open findings of this integration").click()
    expect(page.get_by_test_id("findings-total")).to_have_text("10 findings")
    page.get_by_label("Rule").select_option(label="Leaver still has access")
    page.get_by_role("button", name="Filter").click()
    subjects = page.get_by_test_id("subject")
    expect(subjects).to_have_text(["bob@acme.test", "len@acme.test"])
    page.get_by_role("link", name="len@acme.test").click()
    expect(page.get_by_test_id("finding-status")).to_have_text("open")
    later = today + dt.timedelta(days=30)
    page.get_by_label("Snooze until").fill(later.isoformat())
    page.get_by_label("Reason for snoozing").fill("Leaves at the end of the month")
    page.get_by_role("button", name="Snooze").click()
    expect(page.locator("#flash")).to_have_text(
        f"Snoozed finding {page.url.rsplit('/', 1)[-1]} until {later.isoformat()}."
    )
    expect(page.get_by_test_id("finding-status")).to_contain_text("snoozed")
    history = page.get_by_test_id("events").locator("tbody tr")
    expect(history).to_have_count(2)
    expect(history.nth(1)).to_contain_text(srv.admin)
    expect(history.nth(1)).to_contain_text("Leaves at the end of the month")
    shot(page, "finding-snoozed")
    page.get_by_role("link", name="Findings", exact=True).first.click()
    page.get_by_label("Integration").select_option(label=integration)
    page.get_by_label("Status").select_option("snoozed")
    page.get_by_role("button", name="Filter").click()
    expect(subjects).to_have_text(["len@acme.test"])
