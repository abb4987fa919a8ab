"""The remediation check after a sync reads one integration's items by index.

It runs after every sync of every integration, and campaigns are kept for
good: without an index on the integration, each check read every item of
every campaign (200,000 for one review of 200 integrations).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import event

from smp.storage import make_engine, migrate
from smp.storage.review_remediation import check_remediation


def test_the_check_searches_review_items_by_integration(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'smp.db'}")
    migrate(engine)
    sent: list[tuple[str, Any]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _keep(_c: Any, _cur: Any, statement: str, params: Any, *_: Any) -> None:
        sent.append((statement, params))

    check = check_remediation(
        engine, now=dt.datetime(2026, 12, 31, 23, tzinfo=dt.UTC), integration_ids=[7]
    )
    assert check.checked == 0
    reads = [s for s in sent if "FROM review_items" in s[0]]
    assert len(reads) == 2  # teammates and invites, then subusers
    with engine.connect() as connection:
        plans = [
            " ".join(
                row[3]
                for row in connection.exec_driver_sql(
                    f"EXPLAIN QUERY PLAN {statement}", params
                )
            )
            for statement, params in reads
        ]
    engine.dispose()
    for plan in plans:
        assert "USING INDEX ix_review_items_integration (integration_id=?" in plan, plan
