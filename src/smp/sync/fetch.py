"""Fetch one capability completely from SendGrid, before anything is written.

Each fetcher returns SendGrid's own (wire) records; `mapping` turns them into
domain records. A fetcher either returns everything or raises: a partial
listing never reaches storage, so nothing is ever marked removed by mistake.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from smp.sendgrid import (
    MissingScopeError,
    NotFoundError,
    SendGridClient,
    UnexpectedShape,
)
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
from smp.sync import sanity
from smp.vocabulary import Capability


@dataclass(frozen=True, slots=True)
class Identity:
    username: UserUsername
    account: UserAccount


@dataclass(frozen=True, slots=True)
class SubuserListing:
    subusers: list[Subuser]
    # The subusers whose credits were read this time (an incremental sync
    # re-reads only some, see smp.sync.freshness); None when not readable.
    credits: dict[str, SubuserCredits] | None
    # Subuser -> the current-month basis its credits were read with.
    bases: dict[str, str | None] = field(default_factory=dict)


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
    # Whole pages: the same requests and checks as `teammates()`, without an
    # async-generator step for each of an account's 1,000 members.
    members: list[Teammate] = []
    async for page in client.teammate_pages():
        members += page
    return members


async def fetch_invites(client: SendGridClient) -> list[PendingInvite]:
    return await client.pending_invites()


async def fetch_subusers(client: SendGridClient) -> list[Subuser]:
    # Overlapping pages can repeat a subuser: keep each username once.
    unique = {subuser.username: subuser async for subuser in client.subusers()}
    subusers = list(unique.values())
    # Names go into URLs next: refuse absurd ones before any request.
    sanity.check(subusers, Capability.SUBUSERS)
    return subusers


async def fetch_subuser_credits(
    client: SendGridClient, names: Sequence[str]
) -> dict[str, SubuserCredits]:
    answers = await asyncio.gather(*(client.subuser_credits(n) for n in names))
    credits = dict(zip(names, answers, strict=True))
    for name, answer in credits.items():
        if answer.type != "unlimited":  # unlimited credits have no total or used
            _says_something(answer, f"subusers: credits of {name}")
    return credits


async def fetch_credits(client: SendGridClient) -> UserCredits:
    return _says_something(await client.user_credits(), Capability.USAGE_CREDITS)


CreditsAnswer = TypeVar("CreditsAnswer", UserCredits, SubuserCredits)


def _says_something(answer: CreditsAnswer, where: str) -> CreditsAnswer:
    """Every credits field is optional on the wire, but an answer with neither
    total nor used would overwrite what SMP knows with nothing."""
    if answer.total is None and answer.used is None:
        raise sanity.UnusableAnswer(f"{where}: the answer has neither total nor used")
    return answer


async def fetch_volume(
    client: SendGridClient,
    start: dt.date,
    end: dt.date | None,
    subusers: Sequence[str],
) -> VolumeListing:
    """Monthly stats from `start` (a month's first day) to `end`, inclusive;
    `end=None` leaves the end to SendGrid, which then means its own today.

    Subusers come 10 to a call, the most `/v3/subusers/stats` accepts.
    """
    subusers = list(dict.fromkeys(subusers))
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

    async def of_account() -> list[StatsDay]:
        return [day async for day in client.stats(start, end, aggregated_by="month")]

    # Concurrently: subuser credits wait for these figures (smp.sync.chains).
    account, *results = await asyncio.gather(
        of_account(), *(one_chunk(chunk) for chunk in chunks)
    )
    # One row per subuser and date, even if an answer repeats itself.
    per_subuser: dict[str, dict[dt.date, StatsDay]] = {name: {} for name in subusers}
    for days in results:
        for day in days:
            for entry in day.stats:
                if entry.name in per_subuser:
                    per_subuser[entry.name][day.date] = StatsDay(
                        date=day.date, stats=[entry]
                    )
    return VolumeListing(
        account=_one_per_date(account),
        subusers={name: list(rows.values()) for name, rows in per_subuser.items()},
    )


def _one_per_date(days: list[StatsDay]) -> list[StatsDay]:
    """A repeated date (or a repeated entry inside it) is the same data twice."""
    unique: dict[dt.date, StatsDay] = {}
    for day in days:
        entries = {entry.model_dump_json(): entry for entry in day.stats}
        unique[day.date] = StatsDay(date=day.date, stats=list(entries.values()))
    return list(unique.values())


class InvoiceWithoutId(sanity.UnusableAnswer):
    """An invoice with neither id nor invoice_number: not a shape SMP knows."""


async def fetch_invoices(client: SendGridClient) -> list[Invoice]:
    invoices = [invoice async for invoice in client.invoices()]
    for index, invoice in enumerate(invoices):
        if invoice.id is None and invoice.invoice_number is None:
            raise InvoiceWithoutId(
                f"GET /v3/billing/invoices: invoice {index + 1} has neither id "
                "nor invoice_number"
            )
    return invoices


def invoices_not_provided(error: Exception) -> bool:
    """Whether an error means "SendGrid gives this key no invoices", not a fault.

    `/v3/billing/invoices` is undocumented (docs/adr/0003): a 404, a 403 or
    an answer in a shape SMP does not know may be SendGrid's normal answer to
    a billing key. A revoked key (401), 5xx, timeouts and broken bodies are
    faults as anywhere else.
    """
    return isinstance(
        error, NotFoundError | MissingScopeError | UnexpectedShape | InvoiceWithoutId
    )
