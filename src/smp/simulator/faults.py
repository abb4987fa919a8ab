"""Fault injection rules, selectable per key, path and method.

A rule fires on a matching request with `probability`, at most `count` times.
Rules with a `seed` (or a Simulator with `fault_seed`) fire deterministically.
`page_cap` is a server that sends at most `max_page` items a page, whatever
`limit` asks (SendGrid's general rule caps `limit` at each list's default).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import random
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

FaultKind = Literal[
    "latency",
    "status",
    "reset",
    "timeout",
    "429",
    "truncated_json",
    "invalid_json",
    "revoke_after",
    "page_cap",
]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)


class FaultSpecError(ValueError):
    """A fault given on the CLI or over /_sim/faults is malformed."""


@dataclass
class FaultRule:
    """One fault. `path` is an fnmatch pattern (`/v3/teammates*`); None = all."""

    kind: FaultKind
    path: str | None = None
    key_id: str | None = None
    method: str | None = None
    probability: float = 1.0
    count: int | None = None
    status: int = 503
    html: bool = False
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    after: int = 0
    timeout_s: float = 30.0
    max_page: int = 100
    seed: int | None = None
    fired: int = field(default=0, compare=False)
    seen: int = field(default=0, compare=False)
    _rng: random.Random | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise FaultSpecError(f"kind: unknown fault kind {self.kind!r}")
        if not 0.0 <= self.probability <= 1.0:
            raise FaultSpecError("probability: must be between 0 and 1")
        if self.kind == "status" and not 100 <= self.status <= 599:
            raise FaultSpecError("status: must be an HTTP status code")
        if self.max_page < 1:
            raise FaultSpecError("max_page: must be at least 1")
        if self.seed is not None:
            self._rng = random.Random(self.seed)

    def matches(self, method: str, path: str, key_id: str | None) -> bool:
        if self.key_id is not None and self.key_id != key_id:
            return False
        if self.method is not None and self.method.upper() != method:
            return False
        return self.path is None or fnmatch.fnmatchcase(path, self.path)

    def fire(self, fallback: random.Random) -> bool:
        """Decide (and count) whether this matching rule fires now."""
        if self.count is not None and self.fired >= self.count:
            return False
        rng = self._rng or fallback
        if self.probability < 1.0 and rng.random() >= self.probability:
            return False
        self.fired += 1
        return True

    def delay_s(self, fallback: random.Random) -> float:
        rng = self._rng or fallback
        jitter = rng.uniform(0.0, self.jitter_ms) if self.jitter_ms > 0 else 0.0
        return (self.latency_ms + jitter) / 1000.0

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("_rng")
        return data


_FIELDS = {f.name: f for f in dataclasses.fields(FaultRule) if f.init}
_FIELDS.pop("_rng")
_FIELDS.pop("fired")
_FIELDS.pop("seen")
_INTS = {"count", "status", "after", "max_page", "seed"}
_FLOATS = {"probability", "latency_ms", "jitter_ms", "timeout_s"}


def _coerce(name: str, value: object) -> object:
    if value is None or (isinstance(value, str) and value.lower() in ("", "none")):
        return None
    try:
        if name in _INTS:
            return int(str(value))
        if name in _FLOATS:
            return float(str(value))
    except ValueError:
        raise FaultSpecError(f"{name}: {value!r} is not a number") from None
    if name == "html":
        if isinstance(value, bool):
            return value
        return str(value).lower() in ("1", "true", "yes", "on")
    return str(value)


def fault_from_dict(data: dict[str, Any]) -> FaultRule:
    """Build a rule from JSON-ish data; unknown fields are refused by name."""
    if "kind" not in data:
        raise FaultSpecError("kind: required")
    values: dict[str, Any] = {}
    for name, value in data.items():
        if name not in _FIELDS:
            raise FaultSpecError(f"{name}: unknown fault field")
        values[name] = _coerce(name, value)
    return FaultRule(**values)


def capped(params: dict[str, list[str]], max_page: int | None) -> dict[str, list[str]]:
    """The query as a server capping pages at `max_page` reads it: a larger
    integer `limit` becomes `max_page`; anything else is left to validation."""
    asked = params.get("limit")
    if max_page is None or not asked or not asked[-1].isdigit():
        return params
    if int(asked[-1]) <= max_page:
        return params
    return {**params, "limit": [str(max_page)]}


def parse_fault_spec(spec: str) -> FaultRule:
    """Parse `kind=status,status=503,path=/v3/teammates,probability=0.1,html=true`."""
    data: dict[str, Any] = {}
    for part in spec.split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        if not sep:
            raise FaultSpecError(f"{part.strip()}: expected name=value")
        data[name.strip()] = value.strip()
    return fault_from_dict(data)
