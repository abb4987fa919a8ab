"""SCIM against a real `smp serve`: a scim2-client engine over httpx, and the server.

scim2-client's own network engine needs httpx2, which SMP does not install;
`HttpxScimClient` sends the same requests with the httpx SMP already uses.
`scim_server()` starts `smp serve` in its own SMP_HOME with a SCIM token and
an SMP admin's API token.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from tests.support.serving import Served, SmpHome

from smp.services.users import FIRST_ADMIN
from smp.storage import make_engine, session_factory
from smp.storage.users import create_api_token


@dataclass(frozen=True)
class ScimServer:
    served: Served
    home: SmpHome
    scim_token: str
    api_token: str

    @property
    def base_url(self) -> str:
        return f"{self.served.url}/scim/v2/"

    def http(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)

    @contextmanager
    def client(self) -> Iterator[SyncSCIMClient]:
        """scim2-client's own network client (on httpx2), that learnt the server
        from its discovery endpoints."""
        headers = {"Authorization": f"Bearer {self.scim_token}"}
        with httpx2.Client(base_url=self.base_url, headers=headers, timeout=30) as http:
            client = SyncSCIMClient(http)
            client.discover()
            yield client


def _run(home: SmpHome, *args: str) -> str:
    done = home.run(*args)
    assert done.returncode == 0, done.stderr
    return done.stdout


@contextmanager
def scim_server(folder: Path, label: str = "Okta") -> Iterator[ScimServer]:
    """`smp serve` on SQLite in `folder` (made here), with both kinds of token.

    The SCIM token comes from the CLI, as an operator makes it; the API token
    is the first admin's, written directly (two CLI runs cost seconds).
    """
    folder.mkdir(mode=0o700)
    home = SmpHome(folder)
    made = json.loads(_run(home, "people", "scim-token", "--label", label, "--json"))
    with home.serve() as served:
        engine = make_engine(home.url)
        try:
            with session_factory(engine).begin() as session:
                _, api_token = create_api_token(session, FIRST_ADMIN, "tests")
        finally:
            engine.dispose()
        yield ScimServer(served, home, made["token"], api_token)
