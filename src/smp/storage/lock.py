"""One sync per integration at a time, across threads and processes.

PostgreSQL: a session-level `pg_try_advisory_lock` held on a dedicated
connection; if the process dies, the connection drops and the lock with it.
SQLite: a lease row in `integration_locks` (owner + expiry) taken with one
atomic upsert and renewed by a heartbeat thread, so a crashed owner's lease
simply expires. The owner names its host and process id, so a lease left by
a killed process on this host is taken over at once instead of after expiry.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, delete, select, text, update
from sqlalchemy.dialects import sqlite

from smp.storage.errors import LockBusyError
from smp.storage.tables import IntegrationLockRow

# Seeds the first half of the advisory lock key ("SMP" in ASCII), so other apps
# don't clash.
ADVISORY_NAMESPACE = 0x534D50
DEFAULT_LEASE_S = 60.0
POLL_S = 0.05


def _namespace(schema: str) -> int:
    """The first half of the key: SMP's namespace and the schema, as an int4."""
    mixed = zlib.crc32(schema.encode(), ADVISORY_NAMESPACE)
    return (mixed ^ 0x80000000) - 0x80000000


def _busy(integration_id: int, timeout_s: float) -> LockBusyError:
    return LockBusyError(
        f"integration {integration_id} is already being synced (waited {timeout_s:g} s)"
    )


@contextmanager
def _advisory_lock(
    engine: Engine, integration_id: int, timeout_s: float
) -> Iterator[None]:
    deadline = time.monotonic() + timeout_s
    with engine.connect() as connection:
        # Advisory locks are per database, not per schema: two SMPs in two
        # schemas of one database would otherwise block each other's syncs.
        schema = connection.execute(text("SELECT current_schema()")).scalar() or ""
        key = {"ns": _namespace(schema), "id": integration_id}
        while True:
            got = connection.execute(
                text("SELECT pg_try_advisory_lock(:ns, :id)"), key
            ).scalar()
            connection.commit()  # the lock is per session; don't idle in a transaction
            if got:
                break
            if time.monotonic() >= deadline:
                raise _busy(integration_id, timeout_s)
            time.sleep(POLL_S)
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:ns, :id)"), key)
            connection.commit()


def _host() -> str:
    # Cut so that host:pid:token fits the 64-character owner column.
    return socket.gethostname()[:32]


def _owner_tag() -> str:
    return f"{_host()}:{os.getpid()}:{uuid.uuid4().hex[:16]}"


def _process_is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, owned by another user
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as handle:
            # A killed child its parent has not reaped yet is a zombie: dead.
            return handle.read().rpartition(")")[2].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _holder_is_dead(holder: str | None) -> bool:
    """True only when the holder is a process on this host that no longer runs."""
    if holder is None:
        return False
    parts = holder.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return False
    host, pid = parts[0], int(parts[1])
    if host != _host() or pid == os.getpid():
        return False
    return _process_is_gone(pid)


def _try_lease(engine: Engine, integration_id: int, owner: str, lease_s: float) -> bool:
    now = dt.datetime.now(dt.UTC)
    table = IntegrationLockRow.__table__.c
    statement = sqlite.insert(IntegrationLockRow).values(
        integration_id=integration_id,
        owner=owner,
        expires_at=now + dt.timedelta(seconds=lease_s),
    )
    statement = statement.on_conflict_do_update(
        index_elements=["integration_id"],
        set_={
            "owner": statement.excluded.owner,
            "expires_at": statement.excluded.expires_at,
        },
        where=table.expires_at < now,
    )
    with engine.begin() as connection:
        connection.execute(statement)
        holder = connection.execute(
            select(table.owner).where(table.integration_id == integration_id)
        ).scalar()
        if holder != owner and _holder_is_dead(holder):
            # Same write transaction (BEGIN IMMEDIATE): no one else can race us.
            connection.execute(
                update(IntegrationLockRow)
                .where(
                    IntegrationLockRow.integration_id == integration_id,
                    IntegrationLockRow.owner == holder,
                )
                .values(owner=owner, expires_at=now + dt.timedelta(seconds=lease_s))
            )
            holder = owner
    return holder == owner


def _heartbeat(
    engine: Engine,
    integration_id: int,
    owner: str,
    lease_s: float,
    stop: threading.Event,
) -> None:
    while not stop.wait(lease_s / 3):
        with engine.begin() as connection:
            connection.execute(
                update(IntegrationLockRow)
                .where(
                    IntegrationLockRow.integration_id == integration_id,
                    IntegrationLockRow.owner == owner,
                )
                .values(
                    expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=lease_s)
                )
            )


@contextmanager
def _lease_lock(
    engine: Engine, integration_id: int, timeout_s: float, lease_s: float
) -> Iterator[None]:
    owner = _owner_tag()
    deadline = time.monotonic() + timeout_s
    while not _try_lease(engine, integration_id, owner, lease_s):
        if time.monotonic() >= deadline:
            raise _busy(integration_id, timeout_s)
        time.sleep(POLL_S)
    stop = threading.Event()
    beat = threading.Thread(
        target=_heartbeat,
        args=(engine, integration_id, owner, lease_s, stop),
        name=f"smp-lock-{integration_id}",
        daemon=True,
    )
    beat.start()
    try:
        yield
    finally:
        stop.set()
        beat.join()
        with engine.begin() as connection:
            connection.execute(
                delete(IntegrationLockRow).where(
                    IntegrationLockRow.integration_id == integration_id,
                    IntegrationLockRow.owner == owner,
                )
            )


@contextmanager
def integration_lock(
    engine: Engine,
    integration_id: int,
    *,
    timeout_s: float = 0.0,
    lease_s: float = DEFAULT_LEASE_S,
) -> Iterator[None]:
    """Hold the integration's sync lock; LockBusyError after `timeout_s` seconds."""
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine, integration_id, timeout_s):
            yield
    else:
        with _lease_lock(engine, integration_id, timeout_s, lease_s):
            yield
