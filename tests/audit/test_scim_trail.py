"""SCIM writes on a real `smp serve`: each one's entry names the SCIM token's
label and the client's address; the token made by the CLI is in the trail too,
the token itself never."""

from __future__ import annotations

import getpass
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from tests.support.scim import ScimServer, scim_server

from smp.storage import make_engine
from smp.storage.tables import AuditEventRow


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScimServer]:
    with scim_server(tmp_path_factory.mktemp("scim") / "home", label="Entra") as one:
        yield one


@pytest.fixture(scope="module")
def served_db(served: ScimServer) -> Iterator[Engine]:
    engine = make_engine(served.home.url)
    yield engine
    engine.dispose()


def _entries(engine: Engine) -> list[tuple[str | None, str, str, str]]:
    with Session(engine) as session:
        rows = session.scalars(select(AuditEventRow).order_by(AuditEventRow.id))
        return [(r.actor, r.source, r.action, r.target) for r in rows]


def test_scim_writes_name_the_token_label_and_address(
    served: ScimServer, served_db: Engine, tmp_path: Path
) -> None:
    user_name = f"fox-{uuid.uuid4().hex[:6]}@scim.example"
    user = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "active": True,
        "emails": [{"value": user_name, "primary": True}],
    }
    with served.http(served.scim_token) as http:
        made = http.post("Users", json=user)
        assert made.status_code == 201, made.text
        person = made.json()["id"]
        gone = http.delete(f"Users/{person}")
        assert gone.status_code == 204, gone.text
    entries = _entries(served_db)
    assert entries[0][:3] == (f"cli:{getpass.getuser()}", "cli", "scim_token.create")
    assert entries[0][3] == "Entra"
    assert (
        "Entra",
        "127.0.0.1",
        "scim.create",
        f"person {person}",
    ) in entries
    assert entries[-1] == ("Entra", "127.0.0.1", "scim.delete", f"person {person}")
    with Session(served_db) as session:
        written = repr(list(session.scalars(select(AuditEventRow.details))))
    assert served.scim_token not in written
    assert served.api_token not in written
