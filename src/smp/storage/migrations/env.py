"""Alembic environment: always run programmatically on a connection SMP hands over."""

from __future__ import annotations

from alembic import context

from smp.storage.search import include_name
from smp.storage.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("SMP migrations run through smp.storage.migrate(engine)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    compare_type=True,
    include_name=include_name,
)
with context.begin_transaction():
    context.run_migrations()
