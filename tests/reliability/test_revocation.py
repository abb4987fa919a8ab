"""A key revoked in the middle of a sync: that key needs attention, nothing is lost.

Two accounts are synced once, the world moves on, then one account's full key
is revoked after N of its requests while both accounts sync again.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tests.reliability.soak import (
    WRITES,
    base_world,
    changed_world,
    connect_all,
    wire,
)
from tests.support.truth import expected, integrity_problems, stored

from smp.model import KeyStatus, Outcome
from smp.simulator import FaultRule
from smp.storage import SecretBox, generate_key, list_service_accounts
from smp.sync import run_sync

REVOKED = "The provided authorization grant is invalid, expired, or revoked"


# The full key sends 9 requests in the incremental re-sync here: 7 lands late.
@pytest.mark.parametrize("after", [0, 3, 7])
async def test_revoked_key_needs_attention_and_the_rest_completes(
    engine: Engine, after: int
) -> None:
    old_world = base_world(accounts=2)
    new_world = changed_world(old_world)
    wired = wire(old_world)
    box = SecretBox.from_key(generate_key())
    ids = await connect_all(engine, box, old_world, wired.context)
    for iid in ids.values():
        assert (await run_sync(engine, box, iid, wired.context)).outcome is Outcome.OK
    victim, other = list(ids)
    before = stored(engine, ids[victim])
    full_key = next(
        k for k in old_world.keys if k.account == victim and k.kind == "full"
    )
    wired.sim.replace_world(new_world)
    wired.sim.add_fault(
        FaultRule(kind="revoke_after", key_id=full_key.key_id, after=after)
    )

    hit, spared = await asyncio.gather(
        run_sync(engine, box, ids[victim], wired.context),
        run_sync(engine, box, ids[other], wired.context),
    )

    truth = expected(new_world.account(victim))
    now = stored(engine, ids[victim])
    failed = [c for c, r in hit.capabilities.items() if r.outcome is Outcome.FAILED]
    assert failed, hit.to_json()
    for capability, part in WRITES.items():
        result = hit.capabilities[capability]
        if result.outcome is Outcome.OK:
            assert now[part] == truth[part], capability
        else:
            assert REVOKED in (result.error or ""), result
            assert now[part] == before[part], capability
    # The billing key is another key: its invoices arrive whatever happened.
    assert hit.capabilities["invoices"].outcome is Outcome.OK
    with Session(engine) as session:
        keys = {sa.kind.value: sa for sa in list_service_accounts(session, ids[victim])}
        others = list_service_accounts(session, ids[other])
    assert keys["full"].status is KeyStatus.NEEDS_ATTENTION
    assert REVOKED in (keys["full"].last_error or "")
    assert keys["billing"].status is KeyStatus.OK
    assert spared.outcome is Outcome.OK
    assert stored(engine, ids[other]) == expected(new_world.account(other))
    assert {sa.status for sa in others} == {KeyStatus.OK}
    assert integrity_problems(engine) == []
