"""Chromium: an admin starts an access review from the Reviews menu, filters its
items to one department, and decides them all with one bulk decision: the
confirmation says how many items change, Cancel changes nothing, Confirm
changes exactly the filtered items.

The world: the simulator's teammates in an imported directory, the even ones
in Marketing and the odd ones in Engineering (so the expected counts come
from the world, not from SMP).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Browser, Page, expect
from tests.support.app import Server
from tests.support.directory_files import HEADER, csv_text, person
from tests.support.simulator import synced
from tests.web.browserkit import shot, sign_in

from smp.services import reviews
from smp.services.people_import import import_people
from smp.services.reviews import Actor

pytestmark = [pytest.mark.browser, pytest.mark.loopback]

NAME = "Browser reviewed"
ROOT = Actor("root", True, "test")


def _directory(srv: Server) -> tuple[set[str], set[str]]:
    """Import the teammates; their e-mails in Marketing and in Engineering."""
    mates = srv.world.accounts[0].teammates
    rows = [list(HEADER)] + [
        person(
            t["email"],
            first_name=t["first_name"],
            last_name=t["last_name"],
            department="Marketing" if i % 2 == 0 else "Engineering",
            status="active",
            type="employee",
        )
        for i, t in enumerate(mates)
    ]
    report = import_people(
        srv.setup.engine,
        csv_text(rows).encode(),
        filename="people.csv",
        now=srv.setup.context.now(),
    )
    assert report.errors == ()
    emails = [t["email"] for t in mates]
    return set(emails[::2]), set(emails[1::2])


def test_a_bulk_decision_asks_with_the_count_then_decides_exactly_those(
    live: tuple[Server, str], browser: Browser
) -> None:
    srv, base = live
    # Playwright's own event loop runs in this thread: sync in another.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, synced(srv.setup, NAME)).result()
    marketing, engineering = _directory(srv)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        campaign_id = bulk_decide(srv, base, context.new_page(), len(marketing))
    finally:
        context.close()
    decided = {
        i.email: None if i.decision is None else i.decision.value
        for i in reviews.list_items(srv.setup.engine, campaign_id, ROOT)
    }
    assert {e for e, d in decided.items() if d == "keep"} == marketing
    assert all(decided[e] is None for e in engineering)


def bulk_decide(srv: Server, base: str, page: Page, marketing: int) -> int:
    sign_in(page, base, srv.admin)
    page.get_by_role("link", name="Reviews", exact=True).click()
    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Name", exact=True).fill("Q4 SendGrid review")
    page.get_by_label("Integrations").select_option(label=NAME)
    page.get_by_label("Reviewers").select_option("owner")
    page.get_by_role("button", name="Start campaign").click()
    expect(page.locator("#flash")).to_contain_text("Started Q4 SendGrid review")
    campaign_id = int(page.url.rstrip("/").rsplit("/", 1)[-1])

    page.get_by_label("Department").select_option("Marketing")
    page.locator("#f-decision").select_option("undecided")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_test_id("items-total")).to_have_attribute(
        "data-count", str(marketing)
    )

    # A revoke without a reason is refused beside its field; nothing is asked.
    bulk = page.get_by_role("form", name="Bulk decision")
    bulk.get_by_label("Decision").select_option("revoke")
    bulk.get_by_role("button", name="Review bulk decision…").click()
    expect(page.locator("#bulk_reason-error")).to_contain_text("needs a reason")

    # Cancel on the confirmation changes nothing.
    bulk.get_by_label("Reason (revoke, modify)").fill("Quarterly clean-up")
    bulk.get_by_role("button", name="Review bulk decision…").click()
    expect(page.get_by_test_id("confirm-count")).to_have_text(
        f"{marketing} items will be decided revoke"
    )
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_test_id("items-total")).to_have_attribute(
        "data-count", str(marketing)
    )

    bulk.get_by_label("Decision").select_option("keep")
    bulk.get_by_label("Reason (revoke, modify)").fill("")
    bulk.get_by_role("button", name="Review bulk decision…").click()
    expect(page.get_by_test_id("confirm-count")).to_have_text(
        f"{marketing} items will be decided keep"
    )
    shot(page, "review-bulk-confirm")
    page.get_by_role("button", name=f"Decide {marketing} items").click()
    expect(page.locator("#flash")).to_have_text(f"Decided {marketing} items: keep.")
    # Still filtered on undecided Marketing items: none is left.
    expect(page.get_by_test_id("no-items")).to_be_visible()
    counts = page.get_by_test_id("decision-counts")
    expect(counts.locator('[data-decision="keep"]')).to_have_attribute(
        "data-count", str(marketing)
    )
    shot(page, "review-bulk-decided")
    return campaign_id
