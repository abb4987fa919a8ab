"""Shared fixtures: real PostgreSQL and Redis, which CI requires to run."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest

pytest_plugins = ["tests.db_fixtures"]

POSTGRES_URL = os.environ.get(
    "SMP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("SMP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _need(service: str, host: str, port: int) -> None:
    if _reachable(host, port):
        return
    message = f"{service} is not reachable at {host}:{port}"
    if os.environ.get("SMP_REQUIRE_SERVICES"):
        pytest.fail(f"{message}, and CI requires it", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    _need("PostgreSQL", "127.0.0.1", 5432)
    return POSTGRES_URL


@pytest.fixture(scope="session")
def redis_url() -> str:
    # Check the server SMP_TEST_REDIS_URL names, not a fixed one.
    parsed = urlsplit(REDIS_URL)
    _need("Redis", parsed.hostname or "127.0.0.1", parsed.port or 6379)
    return REDIS_URL
