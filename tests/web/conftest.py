"""Fixtures of the browser tests: a live server on loopback, one Chromium a module."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright
from tests.support.app import Server, make_server
from tests.web.browserkit import ARGS, CHROMIUM

from smp.cli.loopback import serve_app
from smp.storage import make_engine, migrate


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    if not CHROMIUM.exists():
        if os.environ.get("SMP_REQUIRE_SERVICES"):
            pytest.fail(f"{CHROMIUM} is missing, and CI requires the browser tests")
        pytest.skip(f"{CHROMIUM} is missing")
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('web') / 'smp.db'}")
    migrate(engine)
    srv = make_server(engine)
    with serve_app(srv.app, name="SMP") as base:
        yield srv, base
    engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        opened = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield opened
        opened.close()
