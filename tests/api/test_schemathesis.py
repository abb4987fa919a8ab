"""Schemathesis against `/openapi.json`, authenticated as an admin.

Every operation gets generated requests (valid and invalid); the answers must
never be a server error and must match the documented status codes, content
types and schemas. Bounded to a few examples per operation to stay fast.
"""

from __future__ import annotations

import asyncio

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tests.support.app import Server, connect_and_sync, make_server

from smp.storage.users import create_api_token

EXAMPLES = 20
# Left out, on purpose: a schema-valid key that SendGrid refuses is a correct 422
# (positive_data_acceptance), and unknown query parameters are ignored, as HTTP
# APIs commonly do (negative_data_rejection). Server errors, status codes,
# content types, headers, response schemas and auth are all still checked.
JUDGEMENT_CALLS = [
    schemathesis.checks.positive_data_acceptance,
    schemathesis.checks.negative_data_rejection,
]


@pytest.fixture(scope="module")
def fuzzed(engine: Engine) -> Server:
    """A server on SQLite and on PostgreSQL, with one synced integration."""
    srv = make_server(engine)
    asyncio.run(connect_and_sync(srv, "Fuzzed"))
    return srv


def _admin_token(srv: Server) -> str:
    with Session(srv.setup.engine) as session, session.begin():
        return create_api_token(session, srv.admin, "fuzz")[1]


def _failures(srv: Server, mode: schemathesis.GenerationMode) -> dict[str, str]:
    """Run every operation's generated cases; operation label -> first failure."""
    api = schemathesis.openapi.from_asgi(
        "/openapi.json", srv.app, headers=srv.auth(_admin_token(srv))
    )
    failures: dict[str, str] = {}
    headers: dict[str, str] = {}
    for result in api.get_all_operations():
        operation = result.ok()
        # A token per operation: revoking a token or resetting a password (both
        # fuzzed) may end the one used before, and a 401 is then all it gets.
        headers.update(srv.auth(_admin_token(srv)))

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, excluded_checks=JUDGEMENT_CALLS)

        try:
            check()
        except Unsatisfiable:
            continue  # nothing to make invalid (e.g. /healthz takes no input)
        except Exception as error:  # collected, so one run reports every operation
            failures[operation.label] = f"{type(error).__name__}: {error}"[:2000]
    return failures


def test_valid_requests_conform(fuzzed: Server) -> None:
    failures = _failures(fuzzed, schemathesis.GenerationMode.POSITIVE)
    assert not failures, "\n\n".join(f"{k}: {v}" for k, v in failures.items())


def test_invalid_requests_are_refused_cleanly(fuzzed: Server) -> None:
    failures = _failures(fuzzed, schemathesis.GenerationMode.NEGATIVE)
    assert not failures, "\n\n".join(f"{k}: {v}" for k, v in failures.items())
