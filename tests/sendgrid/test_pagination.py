"""Offset and keyset pagination through the client, with loop detection."""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.support.fakes import (
    Router,
    json_response,
    make_client,
    offset_handler,
    subuser,
    teammate,
)

from smp.sendgrid import PaginationLoop
from smp.sendgrid.pagination import Page, offset_pages


async def test_teammates_page_until_a_short_page() -> None:
    people = [teammate(n) for n in range(7)]
    router = Router({"/v3/teammates": offset_handler(people)})
    async with make_client(router) as client:
        got = [t.username async for t in client.teammates(page_size=3)]
    assert got == [p["username"] for p in people]
    offsets = [r.url.params["offset"] for r in router.requests]
    assert offsets == ["0", "3", "6"]


async def test_an_exactly_full_last_page_costs_one_empty_page() -> None:
    router = Router(
        {"/v3/subusers": offset_handler([subuser(n) for n in range(4)], None)}
    )
    async with make_client(router) as client:
        got = [s.id async for s in client.subusers(page_size=2)]
    assert got == [1000, 1001, 1002, 1003]
    assert len(router.requests) == 3


async def test_a_server_that_ignores_offset_is_a_loop_not_an_endless_walk() -> None:
    page = [teammate(1), teammate(2)]
    router = Router({"/v3/teammates": lambda request: json_response({"result": page})})
    async with make_client(router) as client:
        seen: list[str] = []

        async def collect() -> None:
            async for t in client.teammates(page_size=2):
                seen.append(t.username)

        with pytest.raises(PaginationLoop, match="page 2 repeats an earlier page"):
            await collect()
    assert seen == ["user1", "user2"]
    assert len(router.requests) == 2


async def test_a_repeat_of_an_older_page_is_a_loop_too() -> None:
    pages = [[teammate(1), teammate(2)], [teammate(3), teammate(4)]]

    def handle(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        # A server that wraps around after two pages: A, B, A, ...
        return json_response({"result": pages[(offset // 2) % 2]})

    router = Router({"/v3/teammates": handle})
    async with make_client(router) as client:
        with pytest.raises(PaginationLoop, match="page 3 repeats an earlier page"):
            [t async for t in client.teammates(page_size=2)]
    assert len(router.requests) == 3


async def test_pages_of_equal_length_that_differ_are_not_a_loop() -> None:
    # user1..user9: every page body has the same length, a byte or two apart.
    people = [teammate(n) for n in range(1, 10)]
    serve = offset_handler(people)
    lengths: list[int] = []

    def handle(request: httpx.Request) -> httpx.Response:
        response = serve(request)
        lengths.append(len(response.content))
        return response

    router = Router({"/v3/teammates": handle})
    async with make_client(router) as client:
        got = [t.username async for t in client.teammates(page_size=1)]
    assert got == [p["username"] for p in people]
    assert len(set(lengths[:-1])) == 1  # the last page is the empty one


class _Item:
    """A weak-referenceable stand-in for a validated item."""


async def test_the_pager_holds_no_consumed_page_while_fetching_the_next() -> None:
    issued: list[weakref.ref[_Item]] = []
    alive_at_fetch: list[int] = []

    async def fetch(limit: int, offset: int) -> Page[_Item]:
        gc.collect()
        alive_at_fetch.append(sum(ref() is not None for ref in issued))
        items = [_Item() for _ in range(limit if offset < 3 * limit else 1)]
        issued.extend(weakref.ref(item) for item in items)
        return Page(items, f"page at {offset}".encode())

    count = 0
    async for _ in offset_pages("/v3/things", fetch, limit=4):
        count += 1
    assert count == 13
    # The consumer kept nothing; at most the last item of the previous page may
    # still be bound to the pager's loop variable.
    assert alive_at_fetch[0] == 0
    assert all(alive <= 1 for alive in alive_at_fetch)
    assert len(alive_at_fetch) == 4


def _access_page(ids: list[int], after: int | None) -> dict[str, Any]:
    return {
        "has_restricted_subuser_access": True,
        "subuser_access": [
            {
                "id": i,
                "username": f"sub{i}",
                "email": f"sub{i}@corp.example",
                "disabled": False,
                "permission_type": "restricted",
                "scopes": ["stats.read"],
            }
            for i in ids
        ],
        "_metadata": {"next_params": {"limit": 2, "after_subuser_id": after}},
    }


async def test_subuser_access_follows_after_subuser_id() -> None:
    all_ids = [11, 12, 13, 14, 15]

    def handle(request: httpx.Request) -> httpx.Response:
        after = int(request.url.params.get("after_subuser_id", "0"))
        rest = [i for i in all_ids if i > after]
        page = rest[:2]
        more = page[-1] if len(rest) > 2 else None
        return json_response(_access_page(page, more))

    router = Router({"/v3/teammates/jdoe/subuser_access": handle})
    async with make_client(router) as client:
        access = await client.subuser_access("jdoe", page_size=2)
    assert access.has_restricted_subuser_access
    assert [s.id for s in access.subusers] == all_ids
    assert [r.url.params.get("after_subuser_id") for r in router.requests] == [
        None,
        "12",
        "14",
    ]


async def test_a_repeated_keyset_token_is_a_loop() -> None:
    pages = [_access_page([1, 2], 2), _access_page([3, 4], 2)]
    router = Router(
        {"/v3/teammates/jdoe/subuser_access": [json_response(p) for p in pages]}
    )
    async with make_client(router) as client:
        with pytest.raises(PaginationLoop, match="token '2' came back twice"):
            await client.subuser_access("jdoe")


async def test_path_segments_are_quoted() -> None:
    router = Router(
        {"/v3/teammates/a/b/subuser_access": [json_response(_access_page([], None))]}
    )
    async with make_client(router) as client:
        access = await client.subuser_access("a/b")
    assert access.subusers == []
    assert router.requests[0].url.raw_path.startswith(b"/v3/teammates/a%2Fb/")


@settings(max_examples=60, deadline=None)
@given(total=st.integers(0, 60), page_size=st.integers(1, 25), bare=st.booleans())
def test_every_item_comes_back_exactly_once(
    total: int, page_size: int, bare: bool
) -> None:
    items = (
        [subuser(n) for n in range(total)]
        if bare
        else [teammate(n) for n in range(total)]
    )

    async def walk() -> tuple[list[str], int]:
        path = "/v3/subusers" if bare else "/v3/teammates"
        router = Router({path: offset_handler(items, None if bare else "result")})
        async with make_client(router) as client:
            listing = client.subusers if bare else client.teammates
            names = [item.username async for item in listing(page_size=page_size)]
        return names, len(router.requests)

    names, requests = asyncio.run(walk())
    assert names == [item["username"] for item in items]
    assert requests == total // page_size + 1


def _capped_handler(items: list[dict[str, Any]], cap: int) -> Any:
    """A server that sends at most `cap` items a page, whatever `limit` asks."""

    def handle(request: httpx.Request) -> httpx.Response:
        limit = min(cap, int(request.url.params["limit"]))
        offset = int(request.url.params["offset"])
        return json_response(items[offset : offset + limit])

    return handle


@settings(max_examples=80, deadline=None)
@given(
    total=st.integers(0, 700),
    page_size=st.integers(1, 600),
    cap=st.integers(100, 700),
)
def test_a_server_capping_pages_at_100_or_more_loses_nothing(
    total: int, page_size: int, cap: int
) -> None:
    items = [subuser(n) for n in range(total)]

    async def walk() -> tuple[list[int], int]:
        router = Router({"/v3/subusers": _capped_handler(items, cap)})
        async with make_client(router) as client:
            ids = [s.id async for s in client.subusers(page_size=page_size)]
        return ids, len(router.requests)

    ids, requests = asyncio.run(walk())
    assert ids == [item["id"] for item in items]
    served = min(page_size, cap)  # what a full page holds
    if total >= served:
        assert requests == total // served + 1
    else:
        # One short page: taken as the end below 100 items (or below the page
        # size, when that is smaller); from 100 on, one more request checks it.
        assert requests == (1 if total < min(page_size, 100) else 2)


async def test_a_server_sending_more_than_asked_skips_and_repeats_nothing() -> None:
    # Asked for 3 a page, it sends 7: the next page starts after those 7.
    items = [subuser(n) for n in range(10)]
    router = Router(
        {
            "/v3/subusers": lambda request: json_response(
                items[int(request.url.params["offset"]) :][:7]
            )
        }
    )
    async with make_client(router) as client:
        ids = [s.id async for s in client.subusers(page_size=3)]
    assert ids == [item["id"] for item in items]
    assert [r.url.params["offset"] for r in router.requests] == ["0", "7", "10"]
