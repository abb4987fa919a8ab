"""Integrations whose last sync is some seconds old, for the due rule's tests."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from smp.model import KeyKind, KeyStatus, Outcome
from smp.storage import (
    add_service_account,
    create_integration,
    finish_sync_run,
    set_sync_interval,
    start_sync_run,
)

# The real clock, read once, in whole seconds as every database keeps them.
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def integration(
    engine: Engine,
    name: str,
    interval: int | None,
    ago: float | None,
    *,
    keyed: bool = True,
) -> int:
    """An integration synced `ago` seconds before NOW (never if None)."""
    with Session(engine) as session, session.begin():
        iid = create_integration(session, name, "global").id
        set_sync_interval(session, iid, interval)
        if keyed:
            add_service_account(
                session,
                iid,
                label="main",
                kind=KeyKind.FULL,
                scopes=[],
                capabilities=[],
                missing={},
                key_id=f"{iid:0>22}",
                encrypted_secret="not read by the scheduler",
                status=KeyStatus.OK,
            )
        if ago is not None:
            run = start_sync_run(session, iid, "test", now=NOW)
            finish_sync_run(
                session,
                run,
                outcome=Outcome.OK,
                capabilities={},
                requests=0,
                retries=0,
                rate_limit_waits=0,
                errors=[],
                now=NOW - dt.timedelta(seconds=ago),
            )
    return iid
