"""A server that sends fewer items a page than asked loses nothing.

The simulator's `page_cap` fault sends at most `max_page` items a page while
honouring `offset`. Expected values come from the World, not from the client.
"""

from __future__ import annotations

import pytest
from tests.support.fakes import FakeClock
from tests.support.simulator import client_for, key_of, make_sim

from smp.simulator import (
    FaultRule,
    FaultSpecError,
    Simulator,
    World,
    generate_world,
    parse_fault_spec,
)


@pytest.fixture(scope="module")
def big_world() -> World:
    return generate_world(seed=21, accounts=1, teammates=250, subusers=130)


async def _teammates(sim: Simulator, clock: FakeClock) -> list[str]:
    async with client_for(sim, key_of(sim.world, "full"), clock) as client:
        return [mate.username async for mate in client.teammates()]


def _asked(sim: Simulator) -> list[tuple[str, str]]:
    return [(r.params["limit"][0], r.params["offset"][0]) for r in sim.requests]


async def test_pages_capped_at_100_of_500_asked_lose_nothing(
    big_world: World, clock: FakeClock
) -> None:
    sim = make_sim(big_world, clock)
    sim.add_fault(FaultRule(kind="page_cap", max_page=100))
    names = await _teammates(sim, clock)
    assert names == [t["username"] for t in big_world.accounts[0].teammates]
    # Each next page starts after the items received, not after the 500 asked;
    # the third page (50 < 100) ends the listing. The log keeps what was asked.
    assert _asked(sim) == [("500", "0"), ("500", "100"), ("500", "200")]


async def test_a_capped_listing_of_whole_pages_ends_on_an_empty_page(
    big_world: World, clock: FakeClock
) -> None:
    sim = make_sim(big_world, clock)
    sim.add_fault(FaultRule(kind="page_cap", max_page=125))
    assert len(await _teammates(sim, clock)) == 250
    assert [offset for _, offset in _asked(sim)] == ["0", "125", "250"]


async def test_a_short_first_page_under_100_items_is_one_request(
    world: World, sim: Simulator, clock: FakeClock
) -> None:
    names = await _teammates(sim, clock)
    assert names == [t["username"] for t in world.accounts[0].teammates]
    assert _asked(sim) == [("500", "0")]


async def test_a_first_page_of_100_to_499_costs_one_more_request(
    big_world: World, clock: FakeClock
) -> None:
    # Uncapped, 250 of 500 could be a cap of 250: one empty page settles it.
    sim = make_sim(big_world, clock)
    assert len(await _teammates(sim, clock)) == 250
    assert _asked(sim) == [("500", "0"), ("500", "250")]


async def test_a_cap_applies_where_its_path_matches(
    big_world: World, clock: FakeClock
) -> None:
    sim = make_sim(big_world, clock)
    sim.add_fault(FaultRule(kind="page_cap", max_page=100, path="/v3/subusers"))
    key = key_of(big_world, "full")
    async with client_for(sim, key, clock) as client:
        subusers = [s.username async for s in client.subusers()]
        mates = [t.username async for t in client.teammates()]
    assert subusers == [s.username for s in big_world.accounts[0].subusers]
    assert len(mates) == 250
    assert [(r.path, r.params["offset"][0]) for r in sim.requests] == [
        ("/v3/subusers", "0"),
        ("/v3/subusers", "100"),  # 30 < 100: the end
        ("/v3/teammates", "0"),  # all 250 at once: not capped
        ("/v3/teammates", "250"),
    ]


def test_a_cap_is_given_like_any_fault() -> None:
    rule = parse_fault_spec("kind=page_cap,max_page=25,path=/v3/teammates")
    assert (rule.kind, rule.max_page, rule.path) == ("page_cap", 25, "/v3/teammates")
    with pytest.raises(FaultSpecError, match="max_page: must be at least 1"):
        parse_fault_spec("kind=page_cap,max_page=0")
