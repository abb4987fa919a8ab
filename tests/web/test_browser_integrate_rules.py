"""Real Chromium on the Integrate form: an account already connected is refused at
the access token, an unconfirmed billing key at its field, and the ticked box
connects and shows in Service settings. Screenshots go to test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page
from tests.support.connect_site import Site, open_site, stored
from tests.web.browserkit import CONFIRM, shot, sign_in

from smp.cli.loopback import serve_app
from smp.storage import make_engine, migrate

pytestmark = [pytest.mark.browser, pytest.mark.loopback]


@pytest.fixture(scope="module")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, str]]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('rules') / 'smp.db'}")
    migrate(engine)
    with open_site(engine) as site, serve_app(site.app, name="SMP") as base:
        yield site, base
    engine.dispose()


def integrate(page: Page, base: str, name: str, access: str, billing: str = "") -> None:
    page.goto(f"{base}/integrations/sendgrid/new")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Access token", exact=True).fill(access)
    page.get_by_label("Access token with billing permissions").fill(billing)


def submit(page: Page) -> None:
    page.get_by_role("button", name="Check keys and connect").click()
    page.wait_for_load_state()


def test_the_form_says_at_each_field_what_is_wrong(
    live_site: tuple[Site, str], browser: Browser
) -> None:
    site, base = live_site
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, base, site.admin)
    integrate(page, base, "Acme mail", site.key("full", 0).key)
    submit(page)
    page.get_by_text("The keys were checked and stored").wait_for()
    before = stored(site.engine)

    integrate(page, base, "Again", site.key("restricted", 0).key)
    submit(page)
    error = page.locator("#access-error")
    assert error.inner_text() == (
        f"Account {site.username(0)} is already connected as integration "
        "'Acme mail'; add keys to it in its Service settings."
    )
    access = page.get_by_label("Access token", exact=True)
    assert access.get_attribute("aria-invalid") == "true"
    shot(page, "21-integrate-account-taken")

    integrate(
        page, base, "Other mail", site.key("full", 1).key, site.key("billing", 1).key
    )
    submit(page)
    assert (
        page.locator("#billing-error")
        .inner_text()
        .endswith(
            f"if it belongs to SendGrid account {site.username(1)}, tick “{CONFIRM}”."
        )
    )
    assert page.locator("#access-error").count() == 0
    shot(page, "22-integrate-billing-unconfirmed")
    assert stored(site.engine) == before

    integrate(
        page, base, "Other mail", site.key("full", 1).key, site.key("billing", 1).key
    )
    page.get_by_label(CONFIRM).check()
    submit(page)
    page.get_by_text("The keys were checked and stored").wait_for()
    page.get_by_role("link", name="Open dashboard").click()
    page.get_by_role("link", name="Service settings").first.click()
    confirmed = page.locator("#billing-confirmed")
    assert " ".join(confirmed.inner_text().split()).startswith(
        f"The billing key's account was confirmed by {site.admin} (web) on "
    )
    shot(page, "23-settings-billing-confirmed")
    for kind in ("full", "billing"):
        assert site.key(kind, 1).key not in page.content()
    context.close()
