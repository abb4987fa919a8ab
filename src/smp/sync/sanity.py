"""A last look at fetched data before it is written: values the database can hold.

The client checks shapes; this checks sizes. A 10 MB name, a negative count, a
number beyond 64 bits or a NUL character (PostgreSQL cannot store one) is not
data SMP can keep: the capability fails with a message naming the field,
instead of a database error halfway through a write. Texts are held to their
own columns' lengths by storage (`ValueTooLong`); `refused_values` makes that,
and any value the database itself refuses, the same kind of failure.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy.exc import DataError

from smp.storage.errors import ValueTooLong

MAX_TEXT = 200
MAX_EMAIL = 320
MAX_INT = 2**63 - 1
MAX_AMOUNT = Decimal(10) ** 12
# Counts that SendGrid may report below zero (a remainder after overage).
SIGNED = frozenset({"remain"})


class UnusableAnswer(Exception):
    """A fetched value SMP cannot store; the message names the field.

    Also raised by the members write (`write_jobs.members`) for a teammates list
    that cannot be the account's real one (`smp.model.SuspiciousListing`).
    """


def check(data: Any, where: str) -> None:
    """Raise UnusableAnswer for the first value the database cannot hold."""
    _walk(data, where, "")


@contextmanager
def refused_values(where: str) -> Iterator[None]:
    """A value the database cannot hold fails `where` as bad data.

    Never as a database outage: retrying will not shorten a text. A DataError
    is the database's own refusal (PostgreSQL: a text too long, a number out
    of range) of a value no check here caught.
    """
    try:
        yield
    except ValueTooLong as error:
        raise UnusableAnswer(f"{where}: unusable value: {error}") from None
    except DataError as error:
        # Its first line only: SQLAlchemy's text adds the SQL and the values.
        reason = str(error.orig).strip().split("\n")[0][:200]
        raise UnusableAnswer(
            f"{where}: the database refused a value: {reason}"
        ) from None


def _walk(value: Any, where: str, field: str) -> None:
    # Hot: every field of every fetched record (1,000 teammates an account).
    # Exact-type fast paths first; anything else goes through `_leaf`.
    kind = type(value)
    if kind is str:
        if (len(value) > MAX_TEXT and len(value) > _text_limit(field)) or (
            "\x00" in value
        ):
            _leaf(value, where, field)
    elif value is None or kind is bool:
        return
    elif kind is int:
        if not 0 <= value <= MAX_INT:
            _leaf(value, where, field)
    elif isinstance(value, BaseModel):
        # A pydantic v2 model keeps exactly its fields in __dict__.
        for name, item in value.__dict__.items():
            _walk(item, where, name)
    elif kind is list or kind is tuple:
        for item in value:
            _walk(item, where, field)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            _walk(getattr(value, item.name), where, field)
    elif isinstance(value, list | tuple):
        for item in value:
            _walk(item, where, field)
    elif isinstance(value, dict):
        for key, item in value.items():
            _walk(key, where, field)
            _walk(item, where, field)
    else:
        _leaf(value, where, field)


def _text_limit(field: str) -> int:
    return MAX_EMAIL if "email" in field else MAX_TEXT


def _leaf(value: Any, where: str, field: str) -> None:
    problem = _problem(value, field)
    if problem:
        raise UnusableAnswer(f"{where}: unusable value: {field or 'a value'} {problem}")


def _problem(value: Any, field: str) -> str | None:
    if isinstance(value, str):
        limit = _text_limit(field)
        if len(value) > limit:
            return f"is {len(value):,} characters long (at most {limit})"
        if "\x00" in value:  # PostgreSQL cannot store it; refuse it everywhere
            return "contains a NUL character"
        return None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        low = -MAX_INT if field in SIGNED else 0
        return None if low <= value <= MAX_INT else f"= {_short(value)} is out of range"
    if isinstance(value, float | Decimal) and (
        not math.isfinite(value) or abs(Decimal(value)) >= MAX_AMOUNT
    ):
        return f"= {_short(value)} is out of range"
    return None


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= 24 else f"{text[:20]}…"
