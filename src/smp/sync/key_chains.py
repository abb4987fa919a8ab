"""Two chains of a sync: the API-key inventory, and teammates' scopes in turns.

API keys: `GET /v3/api_keys` lists at most 100 keys without scopes, so each
key's scopes take one `GET /v3/api_keys/{id}`: 1 + N requests. Teammate
scopes: one `GET /v3/teammates/{username}` each, read for at most B
teammates a sync (docs/adr/0021-teammate-scope-budget.md), after the members
listing of the same sync says who is there and with which role.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from smp.model import CapabilityResult, Outcome
from smp.model.api_keys import (
    KeySighting,
    TeammateScopes,
    scope_budget,
    teammate_scopes_of,
    teammates_to_read,
)
from smp.sendgrid import NotFoundError, SendGridClient, wire
from smp.storage import read_session
from smp.storage.api_keys import (
    members_listed_after,
    save_api_keys,
    save_teammate_scopes,
    teammate_scope_state,
)
from smp.sync.write_jobs import WriteTarget, Written
from smp.vocabulary import Capability

if TYPE_CHECKING:
    from smp.sync.engine import Run


@dataclass(frozen=True, slots=True)
class TeammateScopeReads:
    read: list[TeammateScopes]
    # Every username of the same sync's complete teammates listing.
    listed: list[str]


async def fetch_api_keys(client: SendGridClient) -> list[KeySighting]:
    listed = await client.api_keys()

    async def detail(key: wire.ApiKeyInfo) -> KeySighting | None:
        try:
            found = await client.api_key(key.api_key_id)
        except NotFoundError:
            return None  # deleted between the listing and this read
        name = found.name if found.name is not None else (key.name or "")
        return KeySighting(key.api_key_id, name, tuple(sorted(set(found.scopes))))

    read = await asyncio.gather(*(detail(key) for key in listed))
    # One entry per key id, even if the listing repeats one.
    return list({k.key_id: k for k in read if k is not None}.values())


def write_api_keys(
    session: Session, data: list[KeySighting], target: WriteTarget
) -> Written:
    changes = save_api_keys(session, target.integration_id, data, now=target.now)
    return Written(len(data), events=len(changes))


def write_teammate_scopes(
    session: Session, data: TeammateScopeReads, target: WriteTarget
) -> Written:
    count = save_teammate_scopes(session, target.integration_id, data.read, data.listed)
    return Written(count)


async def api_keys(run: Run) -> None:
    await run.step(Capability.API_KEYS, fetch_api_keys, write_api_keys)


async def teammate_scopes(run: Run, members: Sequence[wire.Teammate] | None) -> None:
    """After the members step: `members` is its complete listing, or None."""
    # Without any key that reads them, the step below records why.
    if members is None and run.key_for(Capability.TEAMMATE_SCOPES) is not None:
        run.record(
            Capability.TEAMMATE_SCOPES,
            CapabilityResult(
                Outcome.SKIPPED,
                error="members were not read, so whose permissions to read "
                "is not known",
            ),
        )
        return
    listed = [(m.username, m.user_type or "") for m in members or ()]

    async def read(client: SendGridClient) -> TeammateScopeReads:
        iid = run.integration.id
        with read_session(run.engine) as session:
            known = teammate_scope_state(session, iid)
            last_read = max((at for _, at in known.values()), default=None)
            joined = (
                members_listed_after(session, iid, last_read) if last_read else set()
            )
        budget = scope_budget(client.rate_limit, run.context.teammate_scope_share)
        wanted = teammates_to_read(
            listed, known, budget, run.now, run.context.refresh_after, joined
        )
        roles = dict(listed)

        async def one(username: str) -> TeammateScopes | None:
            try:
                found = await client.teammate(username)
            except NotFoundError:
                return None  # removed since the listing
            return teammate_scopes_of(username, roles[username], found.scopes, run.now)

        answers = await asyncio.gather(*(one(name) for name in wanted))
        return TeammateScopeReads(
            [a for a in answers if a is not None], [name for name, _ in listed]
        )

    await run.step(Capability.TEAMMATE_SCOPES, read, write_teammate_scopes)
