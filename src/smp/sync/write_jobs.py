"""What each capability writes: plain functions of (session, fetched data, target).

They are module-level and take plain, picklable data, so a write runs the same
on the writer thread or in the writer process (`smp.sync.off_loop_writers`). `perform`
is the whole of one write: the sanity check, then one transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from smp.model import MonthlyVolume, SuspiciousListing
from smp.sendgrid import wire
from smp.storage import (
    first_listing,
    record_baseline,
    save_credit_bases,
    save_identity,
    save_invites,
    save_invoices,
    save_members,
    save_subusers,
    save_usage_period,
    save_volume_sets,
)
from smp.storage.baseline import Listing
from smp.sync import fetch, mapping, sanity

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class WriteTarget:
    """Where a write belongs: the integration, the key that read it, the run."""

    integration_id: int
    source: int
    run_id: int
    now: dt.datetime


@dataclass(frozen=True, slots=True)
class Written:
    count: int
    events: int = 0


@dataclass(frozen=True, slots=True)
class Job(Generic[T]):
    """One capability's fetched data and the function that stores it."""

    capability: str
    save: Callable[[Session, T, WriteTarget], Written]
    data: T
    target: WriteTarget


def perform(engine: Engine, job: Job[Any]) -> Written:
    sanity.check(job.data, job.capability)
    with Session(engine) as session, session.begin():
        return job.save(session, job.data, job.target)


def identity(session: Session, data: fetch.Identity, target: WriteTarget) -> Written:
    save_identity(
        session,
        target.integration_id,
        mapping.identity(data, target.source),
        source_sa_id=target.source,
        now=target.now,
    )
    return Written(1)


def members(
    session: Session, data: list[wire.Teammate], target: WriteTarget
) -> Written:
    listed = [mapping.teammate(t) for t in data]
    try:
        return _listing(session, save_members, listed, target, "members")
    except SuspiciousListing as error:
        # Nothing was written: the transaction rolls back, members stay.
        raise sanity.UnusableAnswer(str(error)) from None


def invites(
    session: Session, data: list[wire.PendingInvite], target: WriteTarget
) -> Written:
    listed = [mapping.invite(i) for i in data]
    return _listing(session, save_invites, listed, target, "invites")


def _listing(
    session: Session,
    save: Callable[..., list[Any]],
    listed: list[Any],
    target: WriteTarget,
    kind: Listing,
) -> Written:
    """A complete member listing (active or pending) and the events it made.

    The integration's first listing of a kind makes no per-member events,
    only its count in the baseline event (`smp.storage.baseline`).
    """
    first = first_listing(session, target.integration_id, kind)
    events = save(
        session,
        target.integration_id,
        listed,
        source_sa_id=target.source,
        now=target.now,
        run_id=target.run_id,
        baseline=first,
    )
    if first:
        created = record_baseline(
            session,
            target.integration_id,
            kind,
            len(listed),
            source_sa_id=target.source,
            now=target.now,
            run_id=target.run_id,
        )
        return Written(len(listed), int(created))
    return Written(len(listed), len(events))


def subusers(
    session: Session, data: fetch.SubuserListing, target: WriteTarget
) -> Written:
    iid, source, now = target.integration_id, target.source, target.now
    found = mapping.subusers(data)
    save_subusers(session, iid, found, source_sa_id=source, now=now)
    save_credit_bases(session, iid, data.bases, now=now)
    for period in mapping.subuser_periods(data, now.date(), source):
        save_usage_period(session, iid, period, source_sa_id=source, now=now)
    return Written(len(found))


def volume(session: Session, data: fetch.VolumeListing, target: WriteTarget) -> Written:
    source = target.source
    sets: dict[str | None, list[MonthlyVolume]] = {
        None: mapping.monthly_volumes(data.account, None, source)
    }
    for name, days in data.subusers.items():
        sets[name] = mapping.monthly_volumes(days, name, source)
    count = save_volume_sets(
        session,
        target.integration_id,
        sets,
        source_sa_id=source,
        now=target.now,
        run_id=target.run_id,
    )
    return Written(count)


def account_credits(
    session: Session, data: wire.UserCredits, target: WriteTarget
) -> Written:
    period = mapping.usage_period(data, target.now.date(), target.source)
    save_usage_period(
        session,
        target.integration_id,
        period,
        source_sa_id=target.source,
        now=target.now,
        run_id=target.run_id,
    )
    return Written(1)


def invoices(
    session: Session, data: list[wire.Invoice], target: WriteTarget
) -> Written:
    found = [mapping.invoice(i, target.source) for i in data]
    kept = [i for i in found if i is not None]
    save_invoices(
        session, target.integration_id, kept, source_sa_id=target.source, now=target.now
    )
    return Written(len(kept))
