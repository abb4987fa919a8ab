"""Usage helpers: SMP's clock moved, a key without a scope, requests per month."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.support.app import Server

from smp.simulator import World


@contextmanager
def clock_at(srv: Server, moment: dt.datetime) -> Iterator[None]:
    """SMP's `now` at `moment` (the sync ran at the world's today, noon)."""
    before = srv.setup.context.now
    srv.setup.context.now = lambda: moment
    try:
        yield
    finally:
        srv.setup.context.now = before


def midnight(text: str) -> dt.datetime:
    """The start of day `text` (ISO), UTC."""
    return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), dt.UTC)


def without_scope(world: World, kind: str, scope: str) -> World:
    """`world` whose key of `kind` lacks `scope`."""
    key = next(k for k in world.keys if k.kind == kind)
    key.scopes.remove(scope)
    return world


def monthly_requests(days: list[Any]) -> dict[str, int]:
    """Requests per month (YYYY-MM) of the simulator's daily stats."""
    months: dict[str, int] = {}
    for day in days:
        month = day["date"][:7]
        months[month] = months.get(month, 0) + day["metrics"]["requests"]
    return months
