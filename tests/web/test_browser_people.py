"""Chromium: an admin uploads a directory file through the form and reads the report,
then finds the imported person on the People page and opens them."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from tests.support.app import Server
from tests.web.browserkit import shot, sign_in

from smp.services import people
from smp.services.people_import import MAX_FILE_BYTES

pytestmark = [pytest.mark.browser, pytest.mark.loopback]

# Line 1 is the header; line 4 has a status SMP does not know.
FILE = (
    "Email;First_Name;Last_Name;Department;Status\n"
    "rosalind.browser@people.example;Rosalind;Franklin;Research;active\n"
    "barbara.browser@people.example;Barbara;McClintock;Research;terminated\n"
    "alan.browser@people.example;Alan;Turing;Research;retired\n"
).encode("utf-8-sig")


def test_an_admin_uploads_a_directory_and_reads_the_report(
    live: tuple[Server, str], browser: Browser
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        upload_and_read(*live, context.new_page())
    finally:
        context.close()


def upload_and_read(srv: Server, base: str, page: Page) -> None:
    sign_in(page, base, srv.admin)
    page.get_by_role("link", name="People", exact=True).click()
    page.get_by_role("link", name="Import a directory").click()
    page.get_by_label("Directory file").set_input_files(
        files=[{"name": "research.csv", "mimeType": "text/csv", "buffer": FILE}]
    )
    # Left empty, the source is the file's name, which the field then shows.
    source = page.get_by_label("Source name")
    expect(source).to_have_attribute("placeholder", "research")
    page.get_by_label("Import the valid rows, skip the rows in error").check()
    page.get_by_role("button", name="Import", exact=True).click()
    report = page.get_by_test_id("import-report")
    expect(report.get_by_role("heading")).to_have_text("Import of ‘research’")
    expect(page.get_by_test_id("count-imported")).to_have_text("2")
    errors = page.get_by_test_id("import-errors").locator("tbody tr")
    expect(errors).to_have_count(1)
    cells = errors.locator("td")
    expect(cells.nth(0)).to_have_text("4")
    expect(cells.nth(1)).to_have_text("status")
    expect(cells.nth(2)).to_contain_text("retired")
    shot(page, "people-import-report")
    engine = srv.setup.engine
    assert people.list_people(engine, search="rosalind.browser").total == 1
    assert people.list_people(engine, search="alan.browser").total == 0
    page.get_by_role("link", name="See the people").click()
    page.get_by_label("Search").fill("McClintock")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Barbara McClintock").click()
    expect(page.get_by_test_id("person-status")).to_contain_text("terminated")
    expect(page.get_by_test_id("no-accounts")).to_be_visible()
    shot(page, "person-page")


def test_a_file_too_large_is_refused_before_it_is_sent(
    live: tuple[Server, str], browser: Browser, tmp_path: Path
) -> None:
    srv, base = live
    # Sparse, so written at once; given as a path, Chromium reads it from disk.
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as out:
        out.truncate(MAX_FILE_BYTES + 1)
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        sign_in(page, base, srv.admin)
        page.goto(f"{base}/people/import")
        sent: list[str] = []
        page.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)
        file = page.get_by_label("Directory file")
        file.set_input_files(huge)
        expect(page.locator("#file-error")).to_contain_text(
            f"larger than {MAX_FILE_BYTES // 2**20} MB"
        )
        expect(file).to_have_attribute("aria-invalid", "true")
        page.get_by_role("button", name="Import", exact=True).click()
        expect(page.get_by_role("button", name="Import", exact=True)).to_be_enabled()
        assert sent == []
        shot(page, "people-import-too-large")
    finally:
        context.close()
