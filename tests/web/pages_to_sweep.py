"""Every page the accessibility / HTML / phone sweep visits (test_browser_sweep.py).

Add a new page here and the sweep parses it strictly, runs axe-core over it at
1400×900 and 390×844, checks that it does not scroll sideways on a phone, and
saves both screenshots to test-artifacts/sweep/. `{id}` is the integration the
sweep connected and synced.

A `Flow` is a page reached by filling in a form: its `run` leaves the browser
on the result and returns that result's raw HTML (the served text, not the DOM).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from playwright.sync_api import Page

ADMIN, VIEWER, ANONYMOUS = "admin", "viewer", "anonymous"
BOTH = (ADMIN, VIEWER)


@dataclass(frozen=True)
class Swept:
    name: str
    path: str
    roles: tuple[str, ...] = BOTH
    status: int = 200
    # A selector to wait for: what scripts draw after the load event.
    ready: str | None = None


PAGES: tuple[Swept, ...] = (
    Swept("login", "/login", (ANONYMOUS,)),
    Swept("integrations", "/integrations"),
    Swept("integrate", "/integrations/sendgrid/new", (ADMIN,)),
    Swept("dashboard", "/integrations/{id}", ready="#usage-chart .main-svg"),
    Swept(
        "dashboard-sorted", "/integrations/{id}?role=admin&q=a&sort=-email", (ADMIN,)
    ),
    Swept("settings", "/integrations/{id}/settings"),
    Swept("api-keys", "/integrations/{id}/api-keys"),
    Swept("delete-integration", "/integrations/{id}/delete", (ADMIN,)),
    Swept("users", "/users", (ADMIN,)),
    Swept("account", "/account"),
    Swept("docs", "/docs", ready="#swagger-ui .opblock"),
    # Before the admin's import flow: how to import; after it (viewer): people.
    Swept("people", "/people"),
    Swept("accounts", "/accounts"),
    Swept("findings", "/findings"),
    Swept("findings-filtered", "/findings?integration={id}&status=any&severity=high"),
    Swept("alert-channels", "/settings/alerts", (ADMIN,)),
    Swept("thresholds", "/settings/thresholds", (ADMIN,)),
    Swept("audit", "/audit", (ADMIN,)),
    Swept("audit-filtered", "/audit?action=login&since=2020-01-01", (ADMIN,)),
    # Before the admin's review flows: none yet; the viewer then sees theirs.
    Swept("reviews", "/reviews"),
    Swept("review-new", "/reviews/new", (ADMIN,)),
    Swept("not-found", "/integrations/987654", status=404),
    Swept("forbidden", "/users", (VIEWER,), status=403),
)


@dataclass(frozen=True)
class Flow:
    name: str
    role: str
    # (page, base URL, integration id, the world's keys by kind) -> raw HTML
    run: Callable[[Page, str, int, dict[str, str]], str]


def submit(page: Page, button: str) -> str:
    """Click a submit button and return the raw HTML the browser lands on."""
    with page.expect_navigation() as landed:
        page.get_by_role("button", name=button, exact=True).click()
    response = landed.value
    assert response is not None
    return response.text()


def integrate_refused(page: Page, base: str, _: int, keys: dict[str, str]) -> str:
    page.goto(f"{base}/integrations/sendgrid/new")
    page.get_by_label("Access token", exact=True).fill("SG.not-a-key.at-all")
    return submit(page, "Check keys and connect")


def add_billing_key(page: Page, base: str, id_: int, keys: dict[str, str]) -> str:
    page.goto(f"{base}/integrations/{id_}/settings")
    page.get_by_label("Label").fill("Billing")
    page.get_by_label("API key").fill(keys["billing"])
    page.get_by_label("The billing key belongs to this SendGrid account").check()
    return submit(page, "Add service account")


def add_key_refused(page: Page, base: str, id_: int, keys: dict[str, str]) -> str:
    page.goto(f"{base}/integrations/{id_}/settings")
    page.get_by_label("Label").fill("Broken")
    page.get_by_label("API key").fill("SG.not-a-key.at-all")
    return submit(page, "Add service account")


def add_user_refused(page: Page, base: str, _: int, keys: dict[str, str]) -> str:
    page.goto(f"{base}/users")
    page.locator("#new-name").fill("<b>bold</b>")
    page.locator("#new-password").fill("long enough password")
    return submit(page, "Add user")


def sign_in_refused(page: Page, base: str, _: int, keys: dict[str, str]) -> str:
    page.goto(f"{base}/login")
    page.get_by_label("User name").fill("nobody")
    page.get_by_label("Password").fill("wrong password")
    return submit(page, "Sign in")


# A directory whose third line has an error; imported with "partial".
DIRECTORY = (
    b"email,first_name,last_name,department,status,type\n"
    b"ada.sweep@people.example,Ada,Lovelace,Research,active,employee\n"
    b"charles.sweep@people.example,Charles,Babbage,Research,fired,employee\n"
    b"grace.sweep@people.example,Grace,Hopper,Navy,terminated,contractor\n"
)


def import_directory(page: Page, base: str, _: int, keys: dict[str, str]) -> str:
    page.goto(f"{base}/people/import")
    page.get_by_label("Directory file").set_input_files(
        files=[{"name": "sweep.csv", "mimeType": "text/csv", "buffer": DIRECTORY}]
    )
    page.get_by_label("Import the valid rows, skip the rows in error").check()
    return submit(page, "Import")


def open_person(page: Page, base: str, _: int, keys: dict[str, str]) -> str:
    page.goto(f"{base}/people?status=terminated")
    with page.expect_navigation() as landed:
        page.get_by_role("link", name="Grace Hopper").click()
    response = landed.value
    assert response is not None
    return response.text()


def open_finding(page: Page, base: str, id_: int, keys: dict[str, str]) -> str:
    """The first of the synced integration's findings, from the Findings page."""
    page.goto(f"{base}/findings?integration={id_}&status=any")
    with page.expect_navigation() as landed:
        page.locator('[data-testid="findings"] a[href^="/findings/"]').first.click()
    response = landed.value
    assert response is not None
    return response.text()


def accept_refused(page: Page, base: str, id_: int, keys: dict[str, str]) -> str:
    """Blanks pass the browser's `required`; SMP asks for a reason beside the field."""
    open_finding(page, base, id_, keys)
    page.get_by_label("Reason for accepting").fill("   ")
    return submit(page, "Accept")


def add_channel(page: Page, base: str, _: int, keys: dict[str, str]) -> str:
    page.goto(f"{base}/settings/alerts")
    page.locator("#ch-name").fill("Security team")
    page.locator("#ch-kind").select_option("slack")
    page.locator("#ch-url").fill("https://hooks.slack.example/services/T0/B0/x")
    return submit(page, "Add channel")


def add_channel_refused(page: Page, base: str, _: int, keys: dict[str, str]) -> str:
    page.goto(f"{base}/settings/alerts")
    page.locator("#ch-name").fill("Mailbox")
    page.locator("#ch-kind").select_option("email")
    page.locator("#ch-smtp_host").fill("smtp.example.com")
    page.locator("#ch-sender").fill("not an address")
    return submit(page, "Add channel")


def start_review(page: Page, base: str, id_: int, keys: dict[str, str]) -> str:
    """The viewer reviews the integration; a campaign starts: its page."""
    page.goto(f"{base}/reviews/new")
    owner = page.locator(f"#owner-{id_}")
    viewer = owner.locator("option", has_text="viewer-").first.get_attribute("value")
    owner.select_option(viewer or "")
    with page.expect_navigation():
        page.locator(f"form:has(#owner-{id_}) button").click()
    page.get_by_label("Name", exact=True).fill("Sweep review")
    page.get_by_label("Integrations").select_option(str(id_))
    page.get_by_label("Reviewers").select_option("owner")
    return submit(page, "Start campaign")


def open_review(page: Page, base: str, _: int, keys: dict[str, str]) -> str:
    page.goto(f"{base}/reviews")
    with page.expect_navigation() as landed:
        page.get_by_role("link", name="Sweep review").click()
    response = landed.value
    assert response is not None
    return response.text()


def review_bulk_confirm(page: Page, base: str, id_: int, keys: dict[str, str]) -> str:
    open_review(page, base, id_, keys)
    return submit(page, "Review bulk decision…")


def review_signoff_refused(
    page: Page, base: str, id_: int, keys: dict[str, str]
) -> str:
    open_review(page, base, id_, keys)
    return submit(page, "Sign off")


def review_item_refused(page: Page, base: str, id_: int, keys: dict[str, str]) -> str:
    """An item's page after a revoke without a reason (refused beside it)."""
    open_review(page, base, id_, keys)
    with page.expect_navigation():
        page.locator('[data-testid="account"]').first.click()
    page.locator("form.decide select[name=decision]").select_option("revoke")
    with page.expect_navigation() as landed:
        page.locator("form.decide button").click()
    response = landed.value
    assert response is not None
    return response.text()


FLOWS: tuple[Flow, ...] = (
    Flow("integrate-refused", ADMIN, integrate_refused),
    Flow("settings-key-added", ADMIN, add_billing_key),
    Flow("settings-key-refused", ADMIN, add_key_refused),
    Flow("users-refused", ADMIN, add_user_refused),
    Flow("login-refused", ANONYMOUS, sign_in_refused),
    Flow("people-import-report", ADMIN, import_directory),
    Flow("person", ADMIN, open_person),
    Flow("finding", ADMIN, open_finding),
    Flow("finding", VIEWER, open_finding),
    Flow("finding-accept-refused", ADMIN, accept_refused),
    Flow("alert-channel-added", ADMIN, add_channel),
    Flow("alert-channel-refused", ADMIN, add_channel_refused),
    Flow("review-started", ADMIN, start_review),
    Flow("review-bulk-confirm", ADMIN, review_bulk_confirm),
    Flow("review-signoff-refused", ADMIN, review_signoff_refused),
    Flow("review", VIEWER, open_review),
    Flow("review-item-refused", VIEWER, review_item_refused),
)
