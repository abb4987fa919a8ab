"""The three ways SendGrid lists things, with loop detection.

* offset/limit until a page shorter than asked and than the longest page so
  far (teammates, subusers, stats, invoices); see `offset_page_lists`;
* keyset `after_subuser_id` from `_metadata.next_params` (subuser access);
* a single response.

A server that ignores `offset` or repeats a token would otherwise make us loop
for ever; seeing the same page or token twice raises `PaginationLoop`.
"""

from __future__ import annotations

from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Hashable,
)
from contextlib import aclosing
from dataclasses import dataclass
from typing import Generic, TypeVar

from smp.sendgrid.errors import PaginationLoop

T = TypeVar("T")

# Far beyond any real account (500 items a page); a last guard, not the loop check.
MAX_PAGES = 100_000
# No SendGrid list documents a maximum page below 100 items (teammates 500,
# partners/accounts 100, messages 1,000; most document none). A first page
# shorter than this is taken as the whole listing; see `offset_page_lists`.
SMALLEST_PAGE_CAP = 100


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page: its items, the raw body (to spot repeats), and the next token."""

    items: list[T]
    body: bytes
    next_token: Hashable | None = None


class _LoopGuard:
    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self._seen_pages: set[tuple[int, int]] = set()
        self._seen_tokens: set[Hashable] = set()
        self.pages = 0

    def check_page(self, page: Page[T]) -> None:
        self.pages += 1
        if self.pages > MAX_PAGES:
            raise PaginationLoop(self.endpoint, f"more than {MAX_PAGES} pages")
        if not page.items:
            return
        # Python's own 64-bit SipHash of the body, with its length: a fifth of
        # the CPU of blake2b on a 170 kB page, and a chance collision is ~1e-10
        # even at MAX_PAGES. Only compared within this process, so its
        # per-process key does not matter.
        digest = (len(page.body), hash(page.body))
        if digest in self._seen_pages:
            raise PaginationLoop(
                self.endpoint, f"page {self.pages} repeats an earlier page"
            )
        self._seen_pages.add(digest)

    def check_token(self, token: Hashable) -> None:
        if token in self._seen_tokens:
            raise PaginationLoop(self.endpoint, f"page token {token!r} came back twice")
        self._seen_tokens.add(token)


async def offset_page_lists(
    endpoint: str,
    fetch: Callable[[int, int], Awaitable[Page[T]]],
    *,
    limit: int,
) -> AsyncGenerator[list[T], None]:
    """Call `fetch(limit, offset)`, offset += the items received, until a page
    ends the listing; yield each page's items as one list.

    A page ends the listing when it is shorter than `limit` *and* shorter than
    the longest page this listing has returned: a server that caps pages below
    `limit` (asked 500, sends at most 100) then loses nothing, and the end is
    the first page shorter than the cap, or an empty one.

    The first page has no predecessor, and one answer cannot tell a cap from
    the end: 100 items of 500 asked may be either. Its "longest page" is
    `min(limit, SMALLEST_PAGE_CAP)`. A shorter first page is the whole
    listing, in one request, as before (40 teammates, 24 invoices, 24 months).
    A first page of 100 or more items, yet fewer than asked, may be a cap: one
    more request (usually an empty page) settles it. That request is the whole
    extra cost, for a capped server and for an uncapped listing of 100 to
    `limit - 1` items alike. A cap below 100 would still end a listing early;
    no SendGrid list documents one.
    """
    if limit < 1:
        raise ValueError("page size must be at least 1")
    guard = _LoopGuard(endpoint)
    offset = 0
    longest = min(limit, SMALLEST_PAGE_CAP)
    while True:
        page = await fetch(limit, offset)
        guard.check_page(page)
        items = page.items
        count = len(items)
        # Hold no page while waiting for the next one: twenty clients each
        # keeping 500 consumed items alive would push them all through the
        # GC's older generations (~0.4 ms of CPU a request in the client
        # benchmark, benchmarks/client_bench.py).
        del page
        yield items
        del items
        if count < limit and count < longest:
            return
        longest = max(longest, count)
        offset += count  # not `limit`: a capped page must not skip items


async def offset_pages(
    endpoint: str,
    fetch: Callable[[int, int], Awaitable[Page[T]]],
    *,
    limit: int,
) -> AsyncIterator[T]:
    """The items of `offset_page_lists`, one by one."""
    # Closed with us, so a consumer that stops early leaves no pager pending.
    async with aclosing(offset_page_lists(endpoint, fetch, limit=limit)) as pages:
        async for items in pages:
            for item in items:
                yield item
            del items  # see offset_page_lists


async def keyset_pages(
    endpoint: str,
    fetch: Callable[[Hashable | None], Awaitable[Page[T]]],
) -> AsyncIterator[T]:
    """Call `fetch(token)` starting with None, while the page names a next token."""
    guard = _LoopGuard(endpoint)
    token: Hashable | None = None
    while True:
        page = await fetch(token)
        guard.check_page(page)
        items, token = page.items, page.next_token
        del page  # see offset_page_lists
        for item in items:
            yield item
        if token is None or not items:
            return
        del items
        guard.check_token(token)
