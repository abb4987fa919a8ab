"""Each audited action writes exactly its entry: who, from where, what, on what."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from tests.support.app import make_users
from tests.support.directory_files import HEADER, csv_text, person, unique_source
from tests.support.web import sign_in

from smp.model.users import UserRole
from smp.runtime.server_config import ServerConfig
from smp.server import create_app
from smp.services import audit, integrations, people, user_admin
from smp.services.people_import import import_people
from smp.storage import SecretBox, create_integration, generate_key
from smp.storage.tables import AuditEventRow
from smp.sync import SyncContext

pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


def _last(engine: Engine) -> AuditEventRow:
    with Session(engine) as session:
        row = session.scalars(
            select(AuditEventRow).order_by(AuditEventRow.id.desc()).limit(1)
        ).one()
        session.expunge(row)
        return row


def _seen(row: AuditEventRow) -> tuple[str | None, str, str, str]:
    return row.actor, row.source, row.action, row.target


@pytest.fixture
def app_client(engine: Engine) -> Iterator[httpx.AsyncClient]:
    context = SyncContext()
    box = SecretBox.from_key(generate_key())
    app = create_app(engine, box, context, scheduler=False, config=ServerConfig())
    yield httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("192.0.2.7", 50000)),
        base_url="http://testserver",
    )
    context.writer.close()


async def test_a_failed_web_login_is_recorded_without_an_actor(
    engine: Engine, app_client: httpx.AsyncClient
) -> None:
    admin, _viewer, _token, _ = make_users(engine)
    async with app_client as client:
        answer = await sign_in(client, admin, "not the password")
        assert answer.status_code == 401
        row = _last(engine)
        assert _seen(row) == (None, "192.0.2.7", "login.failed", admin)
        assert row.details == {"reason": "wrong user name or password"}
        assert (await sign_in(client, admin)).status_code == 303
    assert _seen(_last(engine)) == (admin, "192.0.2.7", "login", admin)


def test_user_changes_name_the_actor_and_never_the_password(engine: Engine) -> None:
    by = audit.Actor("root-admin", "198.51.100.4")
    secret = "a password nobody may read 77"
    user_admin.add_user(engine, "hooked-user", secret, UserRole.VIEWER, audit_as=by)
    assert _seen(_last(engine)) == (
        "root-admin",
        "198.51.100.4",
        "user.add",
        "hooked-user",
    )
    user_admin.change_role(engine, "hooked-user", UserRole.ADMIN, audit_as=by)
    assert _last(engine).details == {"role": "admin"}
    _record, token = user_admin.new_token(engine, "hooked-user", "ci", audit_as=by)
    assert _last(engine).action == "token.create"
    user_admin.reset_password(engine, "hooked-user", audit_as=by)
    assert _last(engine).action == "user.password_reset"
    user_admin.remove_user(engine, "hooked-user", audit_as=by)
    assert _seen(_last(engine)) == (
        "root-admin",
        "198.51.100.4",
        "user.remove",
        "hooked-user",
    )
    with Session(engine) as session:
        stored = " ".join(
            f"{r.actor} {r.target} {r.details}"
            for r in session.scalars(select(AuditEventRow))
        )
    assert secret not in stored
    assert token not in stored


def test_integration_rename_and_delete_from_the_cli(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        made = create_integration(session, "Hooked Co", "global")
    integrations.rename(engine, made.id, "Hooked Two")
    row = _last(engine)
    assert (row.source, row.action, row.target) == (
        "cli",
        "integration.rename",
        "Hooked Two",
    )
    assert row.actor is not None
    assert row.actor.startswith("cli:")
    assert row.details == {"from": "Hooked Co", "to": "Hooked Two"}
    integrations.delete(engine, made.id)
    assert _last(engine).action == "integration.delete"


def test_a_people_import_and_settings_are_recorded(engine: Engine) -> None:
    source = unique_source()
    rows = [HEADER, person("ann@hooked.example", first_name="Ann", status="active")]
    data = csv_text(rows).encode()
    now = dt.datetime(2027, 1, 1, 0, 0, tzinfo=dt.UTC)
    by = audit.Actor("importer", "198.51.100.8")
    import_people(engine, data, filename="hr.csv", source=source, now=now, audit_as=by)
    row = _last(engine)
    assert _seen(row) == ("importer", "198.51.100.8", "people.import", source)
    assert row.details == {
        "file": "hr.csv",
        "imported": 1,
        "updated": 0,
        "gone": 0,
        "rows_in_error": 0,
    }
    people.add_domain(engine, "hooked.example", now=now, audit_as=by)
    assert _seen(_last(engine)) == (
        "importer",
        "198.51.100.8",
        "company_domain.add",
        "hooked.example",
    )
    people.remove_domain(engine, "hooked.example", now=now)
    assert _last(engine).action == "company_domain.remove"
    assert _last(engine).source == "cli"
