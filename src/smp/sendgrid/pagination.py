"""The three ways SendGrid lists things, with loop detection.

* offset/limit until a short page (teammates, subusers, stats, invoices);
* keyset `after_subuser_id` from `_metadata.next_params` (subuser access);
* a single response.

A server that ignores `offset` or repeats a token would otherwise make us loop
for ever; seeing the same page or token twice raises `PaginationLoop`.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
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
        self._seen_pages: set[bytes] = set()
        self._seen_tokens: set[Hashable] = set()
        self.pages = 0

    def check_page(self, page: Page[T]) -> None:
        self.pages += 1
        if self.pages > MAX_PAGES:
            raise PaginationLoop(self.endpoint, f"more than {MAX_PAGES} pages")
        if not page.items:
            return
        digest = hashlib.blake2b(page.body, digest_size=16).digest()
        if digest in self._seen_pages:
            raise PaginationLoop(
                self.endpoint, f"page {self.pages} repeats an earlier page"
            )
        self._seen_pages.add(digest)

    def check_token(self, token: Hashable) -> None:
        if token in self._seen_tokens:
            raise PaginationLoop(self.endpoint, f"page token {token!r} came back twice")
        self._seen_tokens.add(token)


async def offset_pages(
    endpoint: str,
    fetch: Callable[[int, int], Awaitable[Page[T]]],
    *,
    limit: int,
) -> AsyncIterator[T]:
    """Call `fetch(limit, offset)` with offset += limit until a page is short."""
    if limit < 1:
        raise ValueError("page size must be at least 1")
    guard = _LoopGuard(endpoint)
    offset = 0
    while True:
        page = await fetch(limit, offset)
        guard.check_page(page)
        for item in page.items:
            yield item
        if len(page.items) < limit:
            return
        offset += limit


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
        for item in page.items:
            yield item
        token = page.next_token
        if token is None or not page.items:
            return
        guard.check_token(token)
