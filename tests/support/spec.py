"""What SendGrid guarantees and its official OpenAPI schemas leave out.

The vendored schemas (tests/spec/sendgrid-oai) are looser than SendGrid is:
the teammates list, for one, requires no field, so `{}` or `{"results": ...}`
is as valid as a real answer. The facts below (fact sheet:
../shared/docs/sendgrid-api.md) are each the smallest one that makes an
answer a possible one. Both users of the specs apply them: the simulator's
conformance test (tests/simulator/test_conformance.py) checks the simulator's
answers against them, and tests/reliability/spec_answers.py generates bodies
from them, so the two agree on what SendGrid may answer.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

# The vendored copies of SendGrid's official OpenAPI specs.
SPEC_DIR = Path(__file__).resolve().parents[1] / "spec" / "sendgrid-oai"

Schema = dict[str, Any]


@cache
def spec(file: str) -> Schema:
    """One vendored spec file, as published."""
    loaded: Schema = json.loads((SPEC_DIR / file).read_text(encoding="utf-8"))
    return loaded


def _resolve(document: Schema, node: Any) -> Any:
    """Inline `#/components/...` refs; `nullable: true` becomes a null type."""
    if isinstance(node, list):
        return [_resolve(document, item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        _, _, kind, name = node["$ref"].split("/")
        return _resolve(document, document["components"][kind][name])
    out = {
        k: _resolve(document, v)
        for k, v in node.items()
        if k not in ("example", "examples", "description", "title", "nullable")
    }
    if node.get("nullable") is True and isinstance(node.get("type"), str):
        out["type"] = [node["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


def spec_schema(file: str, path: str) -> Schema:
    """The official schema of a GET `path`'s 200 answer, refs inlined."""
    document = spec(file)
    response = document["paths"][path]["get"]["responses"]["200"]
    schema: Schema = _resolve(
        document, response["content"]["application/json"]["schema"]
    )
    return schema


def _at(schema: Schema, *path: str) -> Schema:
    node = schema
    for part in path:
        node = node[part]
    return node


def _require(node: Schema, *names: str, min_length: int = 1) -> None:
    node["required"] = sorted({*node.get("required", []), *names})
    for name in names:
        if node["properties"][name].get("type") == "string":
            node["properties"][name]["minLength"] = min_length


# Identifiers exist and are unique, dates are dates (YYYY-MM-DD; `smp-date`
# is one in the range asked for, `smp-subuser` one of the subusers asked
# for), ids are whole numbers. Keys: the path in the spec.
def _teammates(schema: Schema) -> None:
    _require(_at(schema, "properties", "result", "items"), "username")
    schema["required"] = ["result"]


def _pending(schema: Schema) -> None:
    invite = _at(schema, "properties", "result", "items")
    _require(invite, "email")
    # A Unix time (fact sheet §3); years past 9999 are the bad-input corpus's.
    invite["properties"]["expiration_date"]["maximum"] = 2**32
    schema["required"] = ["result"]


def _subusers(schema: Schema) -> None:
    item = _at(schema, "items")
    item["properties"]["id"] = {"type": "integer", "minimum": 1, "maximum": 2**31}
    item["properties"]["username"]["minLength"] = 1
    item["properties"]["username"]["maxLength"] = 64


def _account(schema: Schema) -> None:
    # Reputation is a percentage (fact sheet §5, subuser reputations).
    schema["properties"]["reputation"]["maximum"] = 100


def _credits(schema: Schema) -> None:
    for name in ("last_reset", "next_reset"):
        schema["properties"][name]["format"] = "smp-any-date"


def _stats(schema: Schema) -> None:
    day = _at(schema, "items")
    day["properties"]["date"]["format"] = "smp-date"
    # The global stats have one entry per date (fact sheet §5).
    day["properties"]["stats"]["maxItems"] = 1


def _subuser_stats(schema: Schema) -> None:
    day = _at(schema, "items")
    day["properties"]["date"]["format"] = "smp-date"
    day["required"] = ["date", "stats"]
    entry = day["properties"]["stats"]["items"]
    entry["properties"]["name"]["format"] = "smp-subuser"
    entry["required"] = ["type", "name", "metrics"]


REALITY: dict[str, Callable[[Schema], None]] = {
    "/v3/teammates": _teammates,
    "/v3/teammates/pending": _pending,
    "/v3/subusers": _subusers,
    "/v3/user/account": _account,
    "/v3/user/credits": _credits,
    "/v3/stats": _stats,
    "/v3/subusers/stats": _subuser_stats,
}


def real_schema(file: str, path: str) -> Schema:
    """The official 200 schema with the facts for `path` added (a fresh copy)."""
    schema = copy.deepcopy(spec_schema(file, path))
    REALITY.get(path, lambda _s: None)(schema)
    return schema


def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True  # a wrong type is the `type` keyword's to report
    if len(value) != len("YYYY-MM-DD"):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


# What the formats above mean to a validator, which knows no asked-for range
# or subuser list: a calendar date, and a name that is not empty.
FORMATS = FormatChecker(formats=())
FORMATS.checks("smp-date")(_is_date)
FORMATS.checks("smp-any-date")(_is_date)
FORMATS.checks("smp-subuser")(lambda value: not isinstance(value, str) or bool(value))


@cache
def real_validator(file: str, path: str) -> Draft202012Validator:
    """Checks a 200 answer against the official schema and the facts."""
    return Draft202012Validator(real_schema(file, path), format_checker=FORMATS)


def _repeated(items: list[Any], key: Callable[[Any], Any]) -> bool:
    keys = [key(item) for item in items]
    return len(keys) != len(set(keys))


def impossible(path: str, body: Any) -> str | None:
    """Why a body valid by `real_schema` still cannot come from SendGrid, if so.

    Usernames, e-mails, subuser names and dates do not repeat in one answer;
    metered credits say something (SMP refuses them otherwise, see
    tests/reliability/test_spec_answers.py).
    """
    if path == "/v3/subusers/{subuser_name}/credits":
        metered = body.get("type") != "unlimited"
        if metered and body.get("total") is None and body.get("used") is None:
            return "metered credits with neither total nor used"
        return None
    if path == "/v3/teammates" and _repeated(body["result"], lambda t: t["username"]):
        return "a username repeats"
    if path == "/v3/teammates/pending" and _repeated(
        body["result"], lambda p: p["email"].lower()
    ):
        return "an invited e-mail repeats"
    if path == "/v3/subusers" and (
        _repeated(body, lambda s: s["username"]) or _repeated(body, lambda s: s["id"])
    ):
        return "a subuser's username or id repeats"
    if path in ("/v3/stats", "/v3/subusers/stats"):
        if _repeated(body, lambda d: d["date"]):
            return "a date repeats"
        if any(_repeated(d["stats"], lambda e: e.get("name")) for d in body):
            return "a subuser repeats within a date"
    return None
