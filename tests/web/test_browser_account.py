"""Chromium: an admin changes a role and resets a password; a user makes a token,
sees it once, runs a call with it in the API reference (Swagger UI, served by
SMP) and revokes it; a user's time zone shows on the times of the pages."""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect
from sqlalchemy.orm import Session
from tests.support.app import Server
from tests.web.browserkit import shot, sign_in

from smp.services.users import authenticate
from smp.storage.users import get_user

# Swagger UI's element id of an operation: its tag and FastAPI's operationId.
LIST_INTEGRATIONS = "list_all_api_v1_integrations_get"

pytestmark = [pytest.mark.browser, pytest.mark.loopback]


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def test_admin_changes_a_role_and_resets_a_password(
    live: tuple[Server, str], page: Page
) -> None:
    srv, base = live
    sign_in(page, base, srv.admin)
    page.goto(f"{base}/users")
    page.get_by_label(f"Role of {srv.viewer}", exact=True).select_option("admin")
    page.get_by_role("button", name=f"Change role of {srv.viewer}").click()
    expect(page.get_by_label(f"Role of {srv.viewer}", exact=True)).to_have_value(
        "admin"
    )
    expect(page.locator("#flash")).to_have_text(f"‘{srv.viewer}’ is now admin.")
    shot(page, "users-role-changed")
    page.get_by_label(f"Role of {srv.viewer}", exact=True).select_option("viewer")
    page.get_by_role("button", name=f"Change role of {srv.viewer}").click()
    expect(page.get_by_label(f"Role of {srv.viewer}", exact=True)).to_have_value(
        "viewer"
    )
    page.get_by_role("button", name=f"Reset password of {srv.viewer}").click()
    shown = page.get_by_test_id("reset-password").inner_text()
    shot(page, "users-password-reset")
    with Session(srv.setup.engine) as session:
        assert get_user(session, srv.viewer).role.value == "viewer"
        assert authenticate(session, srv.viewer, shown) is not None
    page.goto(f"{base}/users")
    assert shown not in page.content()


def test_a_new_token_runs_a_call_in_the_api_reference(
    live: tuple[Server, str], page: Page
) -> None:
    srv, base = live
    problems: list[str] = []

    def note(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)

    page.on("console", note)
    sign_in(page, base, srv.admin)
    page.goto(f"{base}/account")
    page.get_by_label("Label").fill("reference")
    page.get_by_role("button", name="Create token").click()
    token = page.get_by_test_id("new-token").inner_text()
    assert token.startswith("smp_")
    shot(page, "account-new-token")
    page.goto(f"{base}/docs")
    operation = page.locator(f"#operations-integrations-{LIST_INTEGRATIONS}")
    expect(operation).to_contain_text("List integrations")
    page.locator("button.authorize").first.click()
    page.locator(".auth-container input").first.fill(token)
    page.locator(".auth-btn-wrapper button.authorize").click()
    page.locator(".auth-btn-wrapper button.btn-done").click()
    operation.locator(".opblock-summary").first.click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    status = operation.locator(
        ".live-responses-table tr.response td.response-col_status"
    ).first
    expect(status).to_have_text(re.compile(r"^\s*200"))
    shot(page, "api-reference-try-it")
    page.goto(f"{base}/account")
    assert token not in page.content()  # shown once
    revoke = re.compile(r"^Revoke token \d+ \(reference\)$")
    page.get_by_role("button", name=revoke).click()
    expect(page.get_by_role("button", name=revoke)).to_have_count(0)
    shot(page, "account-token-revoked")
    called = page.request.get(
        f"{base}/api/v1/integrations", headers={"Authorization": f"Bearer {token}"}
    )
    assert called.status == 401
    assert problems == []


def test_times_show_in_the_zone_the_user_sets(
    live: tuple[Server, str], page: Page
) -> None:
    srv, base = live
    zone = "Asia/Tokyo"
    sign_in(page, base, srv.admin)
    page.goto(f"{base}/account")
    expect(page.get_by_test_id("time-zone")).to_have_text("UTC")  # the default
    page.get_by_label("Time zone (IANA name)").fill(zone)
    page.get_by_role("button", name="Save time zone").click()
    expect(page.get_by_test_id("time-zone")).to_have_text(zone)
    page.goto(f"{base}/users")
    with Session(srv.setup.engine) as session:
        stored = get_user(session, srv.admin).created_at
    # The stored time is UTC, naive or not; the expected text is converted here.
    utc = stored if stored.tzinfo else stored.replace(tzinfo=zoneinfo.ZoneInfo("UTC"))
    expected = utc.astimezone(zoneinfo.ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M JST")
    row = page.get_by_role("row").filter(
        has=page.get_by_role("cell", name=srv.admin, exact=True)
    )
    expect(row.get_by_role("cell", name=expected, exact=True)).to_have_count(1)
    shot(page, "users-times-in-tokyo")
    page.goto(f"{base}/account")
    page.get_by_label("Time zone (IANA name)").fill("UTC")
    page.get_by_role("button", name="Save time zone").click()
    expect(page.get_by_test_id("time-zone")).to_have_text("UTC")
