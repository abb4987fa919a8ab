"""The web tests reuse the API tests' server and synced-integration fixtures."""

from __future__ import annotations

from tests.api.conftest import server, synced

__all__ = ["server", "synced"]
