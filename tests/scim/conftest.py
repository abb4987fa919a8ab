"""One real `smp serve` for every SCIM test (tests/support/scim.py); its database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from tests.support.scim import ScimServer, scim_server

from smp.storage import make_engine


@pytest.fixture(scope="package")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScimServer]:
    with scim_server(tmp_path_factory.mktemp("scim") / "home") as server:
        yield server


@pytest.fixture(scope="package")
def served_db(served: ScimServer) -> Iterator[Engine]:
    """The served SMP's own database, to read (and seed) what it stores."""
    engine = make_engine(served.home.url)
    yield engine
    engine.dispose()
