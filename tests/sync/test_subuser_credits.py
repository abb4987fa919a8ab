"""Subuser credits after a change of plan: what SendGrid answers is what is stored.

Switched to unlimited, a subuser's credits come back as `{"type": "unlimited",
"remain": null, "total": null, "used": null}` (the OpenAPI spec): the stored
numbers become null, never the previous period's figures.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tests.support.simulator import BASE_URL, Setup, new_key, wire_up

from smp.model import Outcome
from smp.services.onboarding import connect
from smp.simulator import World, generate_world, load_world
from smp.storage import current_usage, list_subusers
from smp.sync import run_sync


@pytest.fixture
def setup(engine: Engine) -> Setup:
    world = generate_world(seed=31, accounts=1, teammates=8, pending=1, subusers=4)
    return wire_up(world, engine)


def _credits(world: World) -> dict[str, tuple[object, ...]]:
    return {
        s.username: (
            s.credits["type"],
            s.credits["total"],
            s.credits["used"],
            s.credits["remain"],
        )
        for s in world.accounts[0].subusers
    }


async def test_a_switch_to_unlimited_stores_null_totals(setup: Setup) -> None:
    integration, _ = await connect(
        setup.engine,
        setup.box,
        "unlimited",
        [new_key(setup.world, "full")],
        setup.context,
        base_url=BASE_URL,
    )
    first = await run_sync(setup.engine, setup.box, integration.id, setup.context)
    assert first.outcome is Outcome.OK, first.to_json()
    changed = load_world(setup.world.to_json())
    switched = changed.accounts[0].subusers[1]
    assert switched.credits["total"] is not None  # it had numbers before
    switched.credits.update(  # type: ignore[typeddict-item]
        type="unlimited", reset_frequency=None, remain=None, total=None, used=None
    )
    setup.sim.replace_world(changed)
    # No sends since: only an expired refresh window makes a sync re-read credits.
    setup.context.refresh_after = dt.timedelta(0)
    second = await run_sync(setup.engine, setup.box, integration.id, setup.context)
    assert second.outcome is Outcome.OK, second.to_json()
    with Session(setup.engine) as session:
        stored = {
            s.username: (
                s.credit_type,
                s.credits_total,
                s.credits_used,
                s.credits_remain,
            )
            for s in list_subusers(session, integration.id)
        }
        usage = current_usage(
            session, integration.id, switched.username, now=setup.context.now()
        )
    assert stored == _credits(changed)
    assert stored[switched.username] == ("unlimited", None, None, None)
    assert usage is not None
    assert (usage.period.credit_type, usage.period.total, usage.period.used) == (
        "unlimited",
        None,
        None,
    )
    assert (usage.utilization, usage.forecast_used, usage.ended) == (None, None, False)
