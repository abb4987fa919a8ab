"""Chromium for the browser tests: where it is, its flags, signing in, screenshots."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page
from tests.support.app import PASSWORD

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


def shot(page: Page, name: str) -> None:
    """Save the whole page as test-artifacts/screenshots/NAME.png."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Page, base: str, name: str) -> None:
    """Sign `name` in through the login form."""
    page.goto(f"{base}/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/integrations")
