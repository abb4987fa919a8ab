"""Query-string parsing with SendGrid-style 400 errors."""

from __future__ import annotations

import datetime as dt

from smp.simulator.errors import BadRequest

Params = dict[str, list[str]]


def one(params: Params, name: str) -> str | None:
    values = params.get(name)
    return values[-1] if values else None


def integer(
    params: Params,
    name: str,
    default: int,
    minimum: int = 0,
    maximum: int | None = None,
) -> int:
    raw = one(params, name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(name, f"{name} must be an integer") from None
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and {maximum}" if maximum is not None else ""
        span = f"between {minimum}{upper}" if upper else f"at least {minimum}"
        raise BadRequest(name, f"{name} must be {span}")
    return value


def date(params: Params, name: str, default: dt.date | None = None) -> dt.date:
    raw = one(params, name)
    if raw is None or raw == "":
        if default is None:
            raise BadRequest(name, f"{name} is required")
        return default
    try:
        if len(raw) != 10:
            raise ValueError(raw)
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(name, f"{name} must be a date in YYYY-MM-DD format") from None


def choice(params: Params, name: str, default: str, allowed: tuple[str, ...]) -> str:
    raw = one(params, name)
    if raw is None or raw == "":
        return default
    if raw not in allowed:
        raise BadRequest(name, f"{name} must be one of: {', '.join(allowed)}")
    return raw


def boolean(params: Params, name: str) -> bool:
    raw = one(params, name)
    if raw is None or raw == "":
        return False
    if raw.lower() not in ("true", "false", "1", "0"):
        raise BadRequest(name, f"{name} must be true or false")
    return raw.lower() in ("true", "1")
