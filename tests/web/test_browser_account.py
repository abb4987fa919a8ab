"""Chromium: an admin changes a role and resets a password; a user makes a token
and runs a call with it in the API reference (Swagger UI, served by SMP)."""

from __future__ import annotations

import re
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
    assert problems == []
