"""Failed sign-ins on the web and bad API tokens in the trail, on both databases:
at most one entry a minute per target and address, and never what was typed."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, func, or_, select
from sqlalchemy.orm import Session
from tests.support.app import make_users
from tests.support.web import sign_in

from smp.runtime.server_config import ServerConfig
from smp.server import create_app
from smp.storage import SecretBox, generate_key
from smp.storage.tables import AuditEventRow
from smp.sync import SyncContext

_ADDRESSES = iter(f"198.51.100.{n}" for n in range(10, 250))


@pytest.fixture
def address() -> str:
    """A client address of the test's own: the sign-in throttle counts per address."""
    return next(_ADDRESSES)


@pytest.fixture
def app_client(engine: Engine, address: str) -> Iterator[httpx.AsyncClient]:
    context = SyncContext()
    box = SecretBox.from_key(generate_key())
    app = create_app(engine, box, context, scheduler=False, config=ServerConfig())
    yield httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 50000)),
        base_url="http://testserver",
    )
    context.writer.close()


def _failures(engine: Engine, address: str) -> list[tuple[str, dict[str, object]]]:
    with Session(engine) as session:
        rows = session.execute(
            select(AuditEventRow.target, AuditEventRow.details)
            .where(
                AuditEventRow.action == "login.failed",
                AuditEventRow.source == address,
            )
            .order_by(AuditEventRow.id)
        ).all()
    return [(target, dict(details)) for target, details in rows]


def _rows_holding(engine: Engine, text: str) -> int:
    e = AuditEventRow
    with Session(engine) as session:
        found = session.scalar(
            select(func.count())
            .select_from(e)
            .where(
                or_(
                    e.target.contains(text, autoescape=True),
                    e.actor.contains(text, autoescape=True),
                    e.source.contains(text, autoescape=True),
                )
            )
        )
        details = session.scalars(select(e.details)).all()
    return int(found or 0) + sum(text in str(d) for d in details)


async def test_twenty_wrong_passwords_write_one_entry_a_minute(
    engine: Engine, app_client: httpx.AsyncClient, address: str
) -> None:
    admin, *_ = make_users(engine)
    async with app_client as client:
        statuses = {
            (await sign_in(client, admin, "not the password")).status_code
            for _ in range(20)
        }
    assert statuses == {401, 429}  # the throttle refused the later tries
    assert _failures(engine, address) == [
        (admin, {"reason": "wrong user name or password"})
    ]


async def test_a_password_typed_as_the_user_name_is_never_recorded(
    engine: Engine, app_client: httpx.AsyncClient, address: str
) -> None:
    typed = "Tr0ub4dor&3 typed in the wrong box"
    async with app_client as client:
        for _ in range(3):
            assert (await sign_in(client, typed, "whatever")).status_code == 401
    assert _failures(engine, address) == [
        ("(unknown user)", {"reason": "wrong user name or password"})
    ]
    assert _rows_holding(engine, "Tr0ub4dor") == 0


async def test_a_bad_api_token_is_recorded_without_the_token(
    engine: Engine, app_client: httpx.AsyncClient, address: str
) -> None:
    _admin, _viewer, token, _ = make_users(engine)
    mistyped = token[:-6] + "XXXXXX"
    async with app_client as client:
        for _ in range(20):
            answer = await client.get(
                "/api/v1/audit", headers={"Authorization": f"Bearer {mistyped}"}
            )
            assert answer.status_code == 401
        without = await client.get("/api/v1/audit")
        assert without.status_code == 401
        good = await client.get(
            "/api/v1/audit", headers={"Authorization": f"Bearer {token}"}
        )
        assert good.status_code == 200
    assert _failures(engine, address) == [
        ("api token", {"reason": "unknown or revoked token"})
    ]
    assert _rows_holding(engine, mistyped[4:]) == 0
