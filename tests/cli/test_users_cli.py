"""`smp users`: adding, listing, roles, tokens and removal from the CLI."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tests.cli.clikit import smp

from smp.model.users import UserRole
from smp.services.users import create_user
from smp.storage.users import create_api_token, get_user, list_api_tokens


@pytest.mark.usefixtures("cli_env")
def test_roles_tokens_and_revoking_from_the_cli(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        create_user(session, "cli-only-admin", "long enough", UserRole.ADMIN)
        create_user(session, "cli-viewer", "long enough", UserRole.VIEWER)
        record, raw = create_api_token(session, "cli-viewer", "nightly report")
    promoted = smp("users", "role", "cli-viewer", "admin")
    assert promoted.exit_code == 0, promoted.output
    assert "cli-viewer is now admin" in promoted.output
    smp("users", "role", "cli-viewer", "viewer")
    listed = smp("users", "tokens", "cli-viewer")
    assert str(record.id) in listed.output
    assert "nightly report" in listed.output
    assert raw not in listed.output
    revoked = smp("users", "revoke", "cli-viewer", str(record.id))
    assert revoked.exit_code == 0, revoked.output
    again = smp("users", "revoke", "cli-viewer", str(record.id))
    assert again.exit_code != 0
    assert len(again.output.strip().splitlines()) == 1
    with Session(engine) as session:
        assert get_user(session, "cli-viewer").role is UserRole.VIEWER
        assert list_api_tokens(session, "cli-viewer") == []
    added = smp("users", "add", "Ana  Lima")
    assert added.exit_code == 0, added.output
    assert "Added Ana Lima (viewer)" in added.output
    assert "Ana Lima" in smp("users", "list").output
    assert "Ana Lima is now admin" in smp("users", "role", "ana lima", "admin").output
    taken = smp("users", "add", "ANA LIMA")
    assert taken.exit_code != 0
    assert "already exists" in taken.output
    assert smp("users", "remove", "ana lima").exit_code == 0
    bad = smp("users", "role", "cli-viewer", "owner")
    assert bad.exit_code != 0
    # The module's database has this one admin.
    last = smp("users", "role", "cli-only-admin", "viewer")
    assert last.exit_code != 0
    assert "the last admin cannot stop being an admin" in last.output
