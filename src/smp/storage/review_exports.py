"""What an evidence pack reads: one campaign, streamed, from one snapshot.

The pack's files are written in several passes over the items (the
spreadsheet per integration, the JSON in item order, the report). They must
tell the same story even while reviewers keep deciding an open campaign, so
every pass reads inside one transaction that sees one state of the database:
REPEATABLE READ on PostgreSQL, one deferred read transaction on SQLite (WAL
readers keep their snapshot until they end).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Engine, Table, func, select
from sqlalchemy.orm import Session

from smp.storage.engine import unmapped
from smp.storage.errors import RecordNotFoundError
from smp.storage.tables import IntegrationRow, ReviewCampaignRow, ReviewItemRow

# Rows fetched per round trip while streaming: memory stays flat.
STREAM_BATCH = 2000


@dataclass(frozen=True, slots=True)
class CampaignHeader:
    """The campaign's own fields, as stored."""

    fields: Mapping[str, Any]
    # (integration id, its name) in the campaign's order; a removed
    # integration is named by its id (the snapshot outlives it).
    integrations: Sequence[tuple[int, str]]


class PackSource:
    """Reads of one campaign inside one consistent transaction."""

    def __init__(self, session: Session, campaign_id: int) -> None:
        self._session = session
        self.campaign_id = campaign_id

    def header(self) -> CampaignHeader:
        table = _table(ReviewCampaignRow)
        row = self._session.execute(
            select(table).where(table.c.id == self.campaign_id)
        ).first()
        if row is None:
            raise RecordNotFoundError(f"no review campaign with id {self.campaign_id}")
        fields = dict(row._mapping)
        ids = [int(i) for i in fields["integration_ids"] or []]
        names: dict[int, str] = {}
        for iid, name in self._session.execute(
            select(IntegrationRow.id, IntegrationRow.name).where(
                IntegrationRow.id.in_(ids)
            )
        ):
            names[iid] = name
        return CampaignHeader(
            fields, [(iid, names.get(iid, f"integration {iid}")) for iid in ids]
        )

    def counts(self) -> list[tuple[int, str | None, str, int]]:
        """(integration id, decision, remediation, items) of every group."""
        i = ReviewItemRow
        rows = self._session.execute(
            select(i.integration_id, i.decision, i.remediation, func.count())
            .where(i.campaign_id == self.campaign_id)
            .group_by(i.integration_id, i.decision, i.remediation)
        )
        return [(iid, d, r, n) for iid, d, r, n in rows]

    def items(self, integration_id: int | None = None) -> Iterator[dict[str, Any]]:
        """The items in id order (of one integration, or all), one at a time."""
        table = _table(ReviewItemRow)
        query = (
            select(table)
            .where(table.c.campaign_id == self.campaign_id)
            .order_by(table.c.id)
            .execution_options(yield_per=STREAM_BATCH)
        )
        if integration_id is not None:
            query = query.where(table.c.integration_id == integration_id)
        for row in self._session.execute(query):
            yield dict(row._mapping)


@contextmanager
def pack_source(engine: Engine, campaign_id: int) -> Iterator[PackSource]:
    bound = engine
    if engine.dialect.name == "postgresql":
        bound = engine.execution_options(isolation_level="REPEATABLE READ")
    else:
        # A deferred BEGIN: a reader never waits for SQLite's write lock.
        bound = engine.execution_options(sqlite_begin="DEFERRED")
    with Session(bound) as session, session.begin(), unmapped(session):
        yield PackSource(session, campaign_id)


def _table(model: Any) -> Table:
    return cast(Table, model.__table__)
