"""Failed sign-ins, counted per user name at one client address.

A stranger's wrong passwords for `admin` slow down only the stranger's own
address: `admin` signing in from anywhere else never waits. After a few free
failures each further try must wait twice as long as the last (2 s, 4 s, ... up
to 15 minutes). One address trying many names is slowed the same way after
more free failures, against password spraying. An IPv6 client counts as its
/64 network, which one host usually holds whole.

A try is recorded as a failure *before* its password is checked (and the
record dropped if it was right), so tries sent all at once cannot slip past
the count while their passwords are still being checked.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from smp.storage.tables import LoginFailureRow

_ZERO = dt.timedelta(0)
_SUBJECT_LENGTH = 200
# Per schema, so two SMPs sharing one PostgreSQL database do not queue together.
_QUEUE_SQL = "SELECT pg_advisory_xact_lock(hashtext('smp login ' || current_schema()))"


@dataclass(frozen=True, slots=True)
class LoginThrottle:
    # Failures of one user name from one address before any wait.
    free_failures: int = 5
    # Failures from one address, whatever the names, before any wait.
    address_free_failures: int = 20
    first_delay: dt.timedelta = dt.timedelta(seconds=2)
    max_delay: dt.timedelta = dt.timedelta(minutes=15)
    # Failures older than this are forgotten.
    memory: dt.timedelta = dt.timedelta(hours=24)

    def delay(self, failures: int, free: int) -> dt.timedelta:
        """The wait after the latest of `failures`, `free` of which cost nothing."""
        if failures < free:
            return _ZERO
        doublings = min(failures - free, 20)  # 2 s · 2^20 is far past max_delay
        grown: dt.timedelta = self.first_delay * (1 << doublings)
        return min(self.max_delay, grown)


def client_network(address: str) -> str:
    """The address failures are counted under: an IPv6 address's /64, else itself."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


def _subjects(name: str, address: str) -> tuple[str, str]:
    network = client_network(address)
    pair, whole = f"name:{name}@{network}", f"from:{network}"
    return pair[:_SUBJECT_LENGTH], whole[:_SUBJECT_LENGTH]


def _wait(
    session: Session,
    subject: str,
    free: int,
    *,
    now: dt.datetime,
    policy: LoginThrottle,
) -> dt.timedelta:
    count, latest = session.execute(
        select(func.count(), func.max(LoginFailureRow.occurred_at)).where(
            LoginFailureRow.subject == subject,
            LoginFailureRow.occurred_at >= now - policy.memory,
        )
    ).one()
    if latest is None:
        return _ZERO
    return max(_ZERO, latest + policy.delay(int(count), free) - now)


def login_wait(
    session: Session,
    name: str,
    address: str,
    *,
    now: dt.datetime,
    policy: LoginThrottle,
) -> dt.timedelta:
    """How long `name` must wait before trying again from `address` (zero: now)."""
    pair, network = _subjects(name, address)
    return max(
        _wait(session, pair, policy.free_failures, now=now, policy=policy),
        _wait(session, network, policy.address_free_failures, now=now, policy=policy),
    )


def _queue_attempts(session: Session) -> None:
    """One try at a time counts and records, until its transaction ends.

    SQLite's BEGIN IMMEDIATE already does this. PostgreSQL's READ COMMITTED
    would let tries sent together all count before any records; a transaction
    lock queues them (one-key advisory locks never meet the sync's two-key ones).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(_QUEUE_SQL))


def start_login_attempt(
    session: Session,
    name: str,
    address: str,
    *,
    now: dt.datetime,
    policy: LoginThrottle,
) -> list[int] | dt.timedelta:
    """Record a try as failed until proven right: the records' ids, or the wait.

    Also forgets failures older than the policy's memory.
    """
    _queue_attempts(session)
    session.execute(
        delete(LoginFailureRow).where(LoginFailureRow.occurred_at < now - policy.memory)
    )
    wait = login_wait(session, name, address, now=now, policy=policy)
    if wait > _ZERO:
        return wait
    subjects = _subjects(name, address)
    rows = [LoginFailureRow(subject=s, occurred_at=now) for s in subjects]
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows]


def login_succeeded(
    session: Session, name: str, address: str, attempt: list[int]
) -> None:
    """Drop this try's records and the name's earlier failures from this address.

    The address's failures with other names stay: a right password for one
    account says nothing about the guesses at the others.
    """
    pair, _ = _subjects(name, address)
    session.execute(
        delete(LoginFailureRow).where(
            (LoginFailureRow.id.in_(attempt)) | (LoginFailureRow.subject == pair)
        )
    )
