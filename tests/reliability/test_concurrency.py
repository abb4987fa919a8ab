"""Syncs of one integration started together run one after another, no duplicates.

Three syncs start at once (as the CLI, the API and the scheduler would) with a
lock wait; progress callbacks show that their steps never interleave.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable

from sqlalchemy import Engine
from tests.reliability.soak import base_world, connect_all, wire
from tests.support.truth import expected, integrity_problems, row_counts, stored

from smp.model import Outcome
from smp.storage import SecretBox, generate_key
from smp.sync import run_sync


async def test_simultaneous_syncs_of_one_integration_take_turns(
    engine: Engine,
) -> None:
    world = base_world(accounts=1)
    wired = wire(world)
    context = dataclasses.replace(wired.context, lock_timeout_s=30.0)
    box = SecretBox.from_key(generate_key())
    (iid,) = (await connect_all(engine, box, world, context)).values()
    steps: list[str] = []

    def progress_of(trigger: str) -> Callable[[str, Outcome | None], None]:
        return lambda capability, outcome: steps.append(trigger)

    reports = await asyncio.gather(
        *(
            run_sync(engine, box, iid, context, trigger=t, progress=progress_of(t))
            for t in ("cli", "api", "scheduler")
        )
    )
    assert [r.outcome for r in reports] == [Outcome.OK] * 3
    # Each run's steps form one block: no run started before another ended.
    blocks = [t for i, t in enumerate(steps) if i == 0 or steps[i - 1] != t]
    assert sorted(blocks) == ["api", "cli", "scheduler"], blocks
    assert stored(engine, iid) == expected(world.accounts[0])
    account = world.accounts[0]
    counts = row_counts(engine, iid)
    assert counts["members"] == len(account.teammates) + len(account.pending)
    assert counts["invoices"] == len(account.invoices)
    assert counts["subusers"] == len(account.subusers)
    assert integrity_problems(engine) == []
