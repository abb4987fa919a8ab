"""The three ways SendGrid lists things, with loop detection.

* offset/limit until a short page (teammates, subusers, stats, invoices);
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
    """Call `fetch(limit, offset)` with offset += limit until a page is short;
    yield each page's items as one list."""
    if limit < 1:
        raise ValueError("page size must be at least 1")
    guard = _LoopGuard(endpoint)
    offset = 0
    while True:
        page = await fetch(limit, offset)
        guard.check_page(page)
        items, full = page.items, len(page.items) >= limit
        # Hold no page while waiting for the next one: twenty clients each
        # keeping 500 consumed items alive would push them all through the
        # GC's older generations (~0.4 ms of CPU a request in the client
        # benchmark, benchmarks/client_bench.py).
        del page
        yield items
        del items
        if not full:
            return
        offset += limit


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
