"""Every page as admin and viewer: strict HTML, axe-core, no sideways scroll on a phone.

One server and one Chromium for the module. The admin connects the simulator's
full key through the Integrate form, then each page of pages_to_sweep.py is
parsed by html5lib (every parse error counts, and duplicate or dangling ids),
checked by axe-core (no serious or critical violation) at 1400×900 and at
390×844, where the page must not be wider than the screen. Screenshots of both
sizes go to test-artifacts/sweep/.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from tests.support.app import Server, make_server
from tests.support.html import html_problems
from tests.web.browserkit import ARGS, CHROMIUM, sign_in
from tests.web.pages_to_sweep import (
    ADMIN,
    ANONYMOUS,
    FLOWS,
    PAGES,
    VIEWER,
    Flow,
    submit,
)

from smp.cli.loopback import serve_app
from smp.storage import make_engine, migrate

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "test-artifacts" / "sweep"
DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
WIDTH = "document.scrollingElement.scrollWidth"
FITS = f"{WIDTH} <= document.scrollingElement.clientWidth"
# What a narrow screen changes; the desktop pass ran every rule already.
PHONE_RULES = ("scrollable-region-focusable", "target-size", "meta-viewport")

pytestmark = [pytest.mark.browser, pytest.mark.loopback]


def axe_problems(page: Page, rules: tuple[str, ...] = ()) -> list[str]:
    """axe-core's serious and critical findings: all its rules, or only `rules`."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    only = {"runOnly": list(rules)} if rules else {}
    result: dict[str, Any] = page.evaluate(
        "options => axe.run(document, options)",
        {"resultTypes": ["violations"], **only},
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + "; ".join(" ".join(n["target"]) for n in v["nodes"][:4])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def check_page(page: Page, html: str, name: str) -> list[str]:
    """All that is wrong with the page the browser shows now, at both sizes."""
    page.wait_for_load_state("load")
    problems = [f"HTML: {p}" for p in html_problems(html)]
    problems += [f"axe desktop: {p}" for p in axe_problems(page)]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    try:  # charts redraw for the new width a moment after the resize event
        page.wait_for_function(FITS, timeout=3_000)
    except PlaywrightTimeout:
        wide = page.evaluate(f"[{WIDTH}, document.scrollingElement.clientWidth]")
        problems.append(f"phone: {wide[0]} px wide in a {wide[1]} px screen")
    problems += [f"axe phone: {p}" for p in axe_problems(page, PHONE_RULES)]
    page.screenshot(path=str(SHOTS / f"{name}-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    return [f"{name}: {p}" for p in problems]


class Site:
    """The live server, one browser context per role, and the synced integration."""

    def __init__(self, srv: Server, base: str, browser: Browser) -> None:
        self.srv, self.base, self.browser = srv, base, browser
        self.contexts: dict[str, BrowserContext] = {}
        self.integration_id = 0

    def page(self, role: str) -> Page:
        if role not in self.contexts:
            # bypass_csp: axe is injected as an inline script, which SMP's CSP forbids.
            context = self.browser.new_context(viewport=DESKTOP, bypass_csp=True)
            self.contexts[role] = context
            page = context.new_page()
            if role != ANONYMOUS:
                sign_in(
                    page,
                    self.base,
                    self.srv.admin if role == ADMIN else self.srv.viewer,
                )
        return self.contexts[role].pages[0]

    def connect(self) -> None:
        """Integrate the full key through the form, and wait for its first sync."""
        page = self.page(ADMIN)
        page.goto(f"{self.base}/integrations/sendgrid/new")
        page.get_by_label("Name", exact=True).fill("Sweep")
        page.get_by_label("Access token", exact=True).fill(self.srv.key("full"))
        html = submit(page, "Check keys and connect")
        self.done_problems = check_page(page, html, "admin-integrate-done")
        page.get_by_role("link", name="Open dashboard").click()
        page.get_by_text("Last sync:").wait_for(timeout=60_000)
        self.integration_id = int(page.url.rstrip("/").split("/")[-1])

    def sweep(self, role: str) -> list[str]:
        page = self.page(role)
        problems: list[str] = []
        for swept in PAGES:
            if role not in swept.roles:
                continue
            url = self.base + swept.path.format(id=self.integration_id)
            response = page.goto(url)
            assert response is not None
            if response.status != swept.status:
                problems.append(
                    f"{swept.name}: HTTP {response.status}, not {swept.status}"
                )
                continue
            if swept.ready:
                page.locator(swept.ready).first.wait_for()
            problems += check_page(page, response.text(), f"{role}-{swept.name}")
        for flow in FLOWS:
            if flow.role == role:
                problems += self.flow(page, flow)
        return problems

    def flow(self, page: Page, flow: Flow) -> list[str]:
        keys = {kind: self.srv.key(kind) for kind in ("full", "billing")}
        html = flow.run(page, self.base, self.integration_id, keys)
        return check_page(page, html, f"{flow.role}-{flow.name}")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if not CHROMIUM.exists() or not AXE.exists():
        missing = CHROMIUM if not CHROMIUM.exists() else AXE
        if os.environ.get("SMP_REQUIRE_SERVICES"):
            pytest.fail(f"{missing} is missing (scripts/test installs axe-core)")
        pytest.skip(f"{missing} is missing")
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('sweep') / 'smp.db'}")
    migrate(engine)
    srv = make_server(engine)
    with serve_app(srv.app, name="SMP") as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        opened = Site(srv, base, browser)
        opened.connect()
        yield opened
        browser.close()
    engine.dispose()


@pytest.mark.parametrize("role", [ADMIN, VIEWER, ANONYMOUS])
def test_every_page_is_valid_accessible_and_fits_a_phone(site: Site, role: str) -> None:
    started = time.perf_counter()
    problems = site.done_problems if role == ADMIN else []
    problems = problems + site.sweep(role)
    print(f"{role} sweep: {time.perf_counter() - started:.1f} s")  # noqa: T201
    assert problems == [], "\n".join(problems)
