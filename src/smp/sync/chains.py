"""The five chains of a sync run, run concurrently by `engine.Run.execute`:
identity; members → invites; subusers (+ credits) with volume; account
credits; invoices. Each capability goes through `Run.step`: fetched
completely, then written in one transaction (the functions in `writes`).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from smp.model import (
    CapabilityResult,
    Outcome,
    is_month_closed,
    months_to_fetch,
)
from smp.sendgrid import SendGridClient, wire
from smp.storage import (
    credit_bases,
    get_identity,
    list_subusers,
    read_session,
    stored_volume_months_of,
)
from smp.sync import fetch, freshness, key_chains, mapping, write_jobs
from smp.vocabulary import Capability

if TYPE_CHECKING:
    from smp.sync.engine import Run


async def identity(run: Run) -> None:
    sa = run.key_for(Capability.ACCOUNT_IDENTITY)
    if sa is not None:
        with read_session(run.engine) as session:
            stored = get_identity(session, run.integration.id)
        if freshness.identity_is_fresh(
            stored, sa.id, run.now, run.context.refresh_after
        ):
            run.record(
                Capability.ACCOUNT_IDENTITY,
                CapabilityResult(Outcome.OK, 1, service_account_id=sa.id),
            )
            return
    await run.step(
        Capability.ACCOUNT_IDENTITY, fetch.fetch_identity, write_jobs.identity
    )


async def members_then_invites(run: Run) -> None:
    members = await run.step(
        Capability.MEMBERS, fetch.fetch_members, write_jobs.members
    )

    async def invites() -> None:
        await run.step(Capability.INVITES, fetch.fetch_invites, write_jobs.invites)

    # Teammate scopes need this listing (who is there, with which role).
    await asyncio.gather(invites(), key_chains.teammate_scopes(run, members))


async def subusers_and_volume(run: Run) -> None:
    """The listing, then volume, then the credits that may have changed."""
    iid = run.integration.id
    sa = run.key_for(Capability.SUBUSERS)
    with_credits = bool(
        sa and "subusers.credits.read" in run.scope_reports[sa.id].scopes
    )
    volume: asyncio.Task[fetch.VolumeListing | None] | None = None

    async def get_subusers(client: SendGridClient) -> fetch.SubuserListing:
        nonlocal volume
        listed = await fetch.fetch_subusers(client)
        names = [s.username for s in listed]
        volume = asyncio.create_task(_volume(run, names))
        if not with_credits:
            return fetch.SubuserListing(listed, None)
        with read_session(run.engine) as session:
            known = credit_bases(session, iid)
        # Stats first, then credits: the credits are then at least as recent
        # as the figures stored with them.
        fetched = await volume
        bases: dict[str, str | None]
        if fetched is None or not run.reads_subuser_stats():
            # Without the open months' figures any stored credits may be stale.
            bases, wanted = dict.fromkeys(names), names
        else:
            current = _month_bases(fetched, names, run)
            bases = dict(current)
            window = run.context.refresh_after
            due = set(freshness.basis_changed(names, known, current))
            due |= set(freshness.stale_credits(names, known, run.now, window))
            wanted = [name for name in names if name in due]
        credits = await fetch.fetch_subuser_credits(client, wanted)
        return fetch.SubuserListing(
            listed, credits, {name: bases[name] for name in credits}
        )

    try:
        await run.step(Capability.SUBUSERS, get_subusers, write_jobs.subusers)
    finally:
        if volume is not None:
            await volume
    if volume is None:
        # No listing: the stored subusers still get their volume.
        with read_session(run.engine) as session:
            names = [s.username for s in list_subusers(session, iid)]
        await _volume(run, names)


def _month_bases(
    fetched: fetch.VolumeListing, names: list[str], run: Run
) -> dict[str, str]:
    def open_days(name: str) -> list[wire.StatsDay]:
        # Only open months enter the basis; summing the closed ones is waste.
        days = fetched.subusers.get(name, [])
        return [day for day in days if not is_month_closed(day.date, run.now)]

    return {
        name: freshness.open_months_basis(
            mapping.monthly_volumes(open_days(name), name, 0), run.now
        )
        for name in names
    }


async def _volume(run: Run, subusers: list[str]) -> fetch.VolumeListing | None:
    iid, today = run.integration.id, run.now.date()
    if not run.reads_subuser_stats():
        subusers = []
    with read_session(run.engine) as session:
        stored = stored_volume_months_of(session, iid, [None, *subusers])
    wanted = [
        months_to_fetch(months, today, run.context.history_months)
        for months in stored.values()
    ]
    start = min(month for months in wanted for month in months)

    async def get_volume(client: SendGridClient) -> fetch.VolumeListing:
        # No end date: SendGrid's own today ends the range. A machine clock
        # behind SendGrid's would otherwise cut the open month short and
        # overwrite figures already stored for its last days.
        return await fetch.fetch_volume(client, start, None, subusers)

    return await run.step(Capability.USAGE_VOLUME, get_volume, write_jobs.volume)


async def account_credits(run: Run) -> None:
    await run.step(
        Capability.USAGE_CREDITS, fetch.fetch_credits, write_jobs.account_credits
    )


async def invoices(run: Run) -> None:
    await run.step(
        Capability.INVOICES,
        fetch.fetch_invoices,
        write_jobs.invoices,
        not_provided=fetch.invoices_not_provided,
    )
