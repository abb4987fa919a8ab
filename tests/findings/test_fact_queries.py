"""The facts of one integration are read through its own index rows.

The findings of an integration are evaluated after each of its syncs. When the
query of its flagged accounts walked the (present, classification) index, a
sync of 100 integrations read every integration's accounts 100 times, and
SQLite's memory map of those pages weighed about 80 MB in the sync's process.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from smp.storage import make_engine, migrate
from smp.storage.finding_facts import Scope, flagged_accounts


def test_one_integrations_flagged_accounts_search_by_integration(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'smp.db'}")
    migrate(engine)
    sent: list[tuple[str, Any]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _keep(_c: Any, _cur: Any, statement: str, params: Any, *_: Any) -> None:
        sent.append((statement, params))

    scope = Scope(ids=[7], everything=False, now=dt.datetime(2026, 12, 31, 23))
    with Session(engine) as session:
        assert flagged_accounts(session, scope) == {}
        statement, params = next(s for s in sent if "account_classif" in s[0])
        plan = session.connection().exec_driver_sql(
            f"EXPLAIN QUERY PLAN {statement}", params
        )
        details = " ".join(row[3] for row in plan)
    engine.dispose()
    assert "ix_account_classifications_integration (integration_id=?" in details
