"""Fetch one capability completely from SendGrid, before anything is written.

Each fetcher returns SendGrid's own (wire) records; `mapping` turns them into
domain records. A fetcher either returns everything or raises: a partial
listing never reaches storage, so nothing is ever marked removed by mistake.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from smp.sendgrid import SendGridClient
from smp.sendgrid.client import MAX_SUBUSERS_PER_STATS_CALL
from smp.sendgrid.wire import (
    Invoice,
    PendingInvite,
    StatsDay,
    Subuser,
    SubuserCredits,
    Teammate,
    UserAccount,
    UserCredits,
    UserUsername,
)


@dataclass(frozen=True, slots=True)
class Identity:
    username: UserUsername
    account: UserAccount


@dataclass(frozen=True, slots=True)
class SubuserListing:
    subusers: list[Subuser]
    # None when the key may not read subuser credits.
    credits: dict[str, SubuserCredits] | None


@dataclass(frozen=True, slots=True)
class VolumeListing:
    account: list[StatsDay]
    # subuser username -> its monthly rows; empty when not readable.
    subusers: dict[str, list[StatsDay]]


async def fetch_identity(client: SendGridClient) -> Identity:
    username, account = await asyncio.gather(
        client.user_username(), client.user_account()
    )
    return Identity(username=username, account=account)


async def fetch_members(client: SendGridClient) -> list[Teammate]:
    return [teammate async for teammate in client.teammates()]


async def fetch_invites(client: SendGridClient) -> list[PendingInvite]:
    return await client.pending_invites()


async def fetch_subusers(
    client: SendGridClient, *, with_credits: bool
) -> SubuserListing:
    subusers = [subuser async for subuser in client.subusers()]
    if not with_credits:
        return SubuserListing(subusers, None)
    answers = await asyncio.gather(
        *(client.subuser_credits(s.username) for s in subusers)
    )
    credits = {s.username: c for s, c in zip(subusers, answers, strict=True)}
    return SubuserListing(subusers, credits)


async def fetch_credits(client: SendGridClient) -> UserCredits:
    return await client.user_credits()


async def fetch_volume(
    client: SendGridClient,
    start: dt.date,
    end: dt.date,
    subusers: Sequence[str],
) -> VolumeListing:
    """Monthly stats from `start` (a month's first day) to `end`, inclusive.

    Subusers come 10 to a call, the most `/v3/subusers/stats` accepts.
    """
    account = [day async for day in client.stats(start, end, aggregated_by="month")]
    chunks = [
        list(subusers[i : i + MAX_SUBUSERS_PER_STATS_CALL])
        for i in range(0, len(subusers), MAX_SUBUSERS_PER_STATS_CALL)
    ]

    async def one_chunk(names: list[str]) -> list[StatsDay]:
        return [
            day
            async for day in client.subuser_stats(
                names, start, end, aggregated_by="month"
            )
        ]

    results = await asyncio.gather(*(one_chunk(chunk) for chunk in chunks))
    per_subuser: dict[str, list[StatsDay]] = {name: [] for name in subusers}
    for days in results:
        for day in days:
            for entry in day.stats:
                if entry.name in per_subuser:
                    per_subuser[entry.name].append(
                        StatsDay(date=day.date, stats=[entry])
                    )
    return VolumeListing(account=account, subusers=per_subuser)


async def fetch_invoices(client: SendGridClient) -> list[Invoice]:
    return [invoice async for invoice in client.invoices()]
