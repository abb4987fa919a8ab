"""One private CA and one HTTP receiver for the whole alerts folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support.alert_receivers import HttpReceiver, Tls, http_receiver, private_ca


@pytest.fixture(scope="package")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    return private_ca(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="package")
def receiver() -> Iterator[HttpReceiver]:
    with http_receiver() as opened:
        yield opened
