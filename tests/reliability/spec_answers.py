"""Schema-valid SendGrid answers, generated from the vendored official OpenAPI specs.

`answers(endpoint)` is a Hypothesis strategy of 200 bodies for one endpoint:
the spec's own response schema (tests/spec/sendgrid-oai), `$ref`s resolved
here and OpenAPI's `nullable` made JSON Schema, and turned into a strategy by
`from_schema` below (hypothesis-jsonschema 0.23 is on PyPI but breaks with
this Hypothesis: it uses Hypothesis internals that have changed). Each body
is checked against the untouched official schema with jsonschema.

The schemas are looser than SendGrid is, so a few facts are added, each the
smallest one that makes the answer a possible one (see REALITY below); every
other freedom the spec gives (missing optional fields, nulls where nullable,
any text, control characters included) stays in; NUL is the one exception.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable
from functools import cache
from typing import Any

from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from tests.spec import SPEC_DIR

Schema = dict[str, Any]

# endpoint -> (spec file, path in the spec)
ENDPOINTS = {
    "/v3/scopes": ("tsg_scopes_v3.json", "/v3/scopes"),
    "/v3/user/username": ("tsg_user_v3.json", "/v3/user/username"),
    "/v3/user/account": ("tsg_user_v3.json", "/v3/user/account"),
    "/v3/user/credits": ("tsg_user_v3.json", "/v3/user/credits"),
    "/v3/teammates": ("tsg_teammates_v3.json", "/v3/teammates"),
    "/v3/teammates/pending": ("tsg_teammates_v3.json", "/v3/teammates/pending"),
    "/v3/subusers": ("tsg_subusers_v3.json", "/v3/subusers"),
    "/v3/subusers/*/credits": (
        "tsg_subusers_v3.json",
        "/v3/subusers/{subuser_name}/credits",
    ),
    "/v3/stats": ("tsg_stats_v3.json", "/v3/stats"),
    "/v3/subusers/stats": ("tsg_subusers_v3.json", "/v3/subusers/stats"),
}
MAX_TEXT = 200  # SMP's text columns; longer names are the bad-input corpus's
MAX_COUNT = 2**40  # counts far beyond any account, well inside 64 bits
MAX_NUMBER = 10**9  # other numbers (SMP refuses amounts from 10**12 up)
MAX_ITEMS = 6  # list sizes: enough to see lists, small enough to be quick
# Any character but NUL, which SMP refuses on purpose (test_spec_answers.py).
TEXT = st.characters(codec="utf-8", exclude_characters="\x00")


@cache
def _spec(file: str) -> Schema:
    loaded: Schema = json.loads((SPEC_DIR / file).read_text(encoding="utf-8"))
    return loaded


def _resolve(spec: Schema, node: Any) -> Any:
    """Inline `#/components/...` refs; `nullable: true` becomes a null type."""
    if isinstance(node, list):
        return [_resolve(spec, item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        _, _, kind, name = node["$ref"].split("/")
        return _resolve(spec, spec["components"][kind][name])
    out = {
        k: _resolve(spec, v)
        for k, v in node.items()
        if k not in ("example", "examples", "description", "title", "nullable")
    }
    if node.get("nullable") is True and isinstance(node.get("type"), str):
        out["type"] = [node["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


def spec_schema(endpoint: str) -> Schema:
    file, path = ENDPOINTS[endpoint]
    spec = _spec(file)
    response = spec["paths"][path]["get"]["responses"]["200"]
    schema: Schema = _resolve(spec, response["content"]["application/json"]["schema"])
    return schema


def _bound(node: Any) -> None:
    """Sizes only: text within SMP's columns, counts non-negative, short lists."""
    if isinstance(node, list):
        for item in node:
            _bound(item)
        return
    if not isinstance(node, dict):
        return
    types = node.get("type")
    types = types if isinstance(types, list) else [types]
    if "string" in types and "enum" not in node and "format" not in node:
        node.setdefault("maxLength", MAX_TEXT)
    if "integer" in types:
        node.setdefault("minimum", 0)
        node.setdefault("maximum", MAX_COUNT)
    if "number" in types:
        node.setdefault("minimum", 0)
        node.setdefault("maximum", MAX_NUMBER)
    if "array" in types:
        node.setdefault("maxItems", MAX_ITEMS)
    for value in node.values():
        _bound(value)


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


# What SendGrid guarantees and the schemas leave out (fact sheet:
# ../shared/docs/sendgrid-api.md). Identifiers exist and are unique, dates
# are dates (YYYY-MM-DD, in the range asked for), ids are whole numbers.
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


def _unique(items: list[Any], key: Callable[[Any], Any]) -> bool:
    keys = [key(item) for item in items]
    return len(keys) == len(set(keys))


def _possible(endpoint: str, body: Any) -> bool:
    """Usernames, e-mails, subuser names and dates do not repeat in one answer;
    metered credits say something (see test_spec_answers.py, exceptions)."""
    if endpoint == "/v3/subusers/*/credits" and body["type"] != "unlimited":
        return body["total"] is not None or body["used"] is not None
    if endpoint == "/v3/teammates":
        return _unique(body["result"], lambda t: t["username"])
    if endpoint == "/v3/teammates/pending":
        return _unique(body["result"], lambda p: p["email"].lower())
    if endpoint == "/v3/subusers":
        return _unique(body, lambda s: s["username"]) and _unique(
            body, lambda s: s["id"]
        )
    if endpoint in ("/v3/stats", "/v3/subusers/stats"):
        if not _unique(body, lambda d: d["date"]):
            return False
        return all(_unique(d["stats"], lambda e: e.get("name")) for d in body)
    return True


def from_schema(
    node: Schema, formats: dict[str, st.SearchStrategy[str]]
) -> st.SearchStrategy[Any]:
    """The JSON Schema keywords these specs use, and nothing more."""
    if "enum" in node:
        return st.sampled_from(node["enum"])
    kinds = node.get("type")
    if isinstance(kinds, list):
        return st.one_of([from_schema({**node, "type": k}, formats) for k in kinds])
    if kinds is None:  # `items: {}`: any JSON value
        return st.one_of(st.none(), st.booleans(), st.integers(), st.text())
    if kinds == "null":
        return st.none()
    if kinds == "boolean":
        return st.booleans()
    low, high = node.get("minimum"), node.get("maximum")
    if kinds == "integer":
        return st.integers(low, high)
    if kinds == "number":
        floats = st.floats(low, high, allow_nan=False, allow_infinity=False)
        return st.one_of(st.integers(low, high), floats)
    if kinds == "string":
        fmt = node.get("format")
        if fmt in formats:
            return formats[fmt]
        if fmt == "email":
            return st.emails()
        return st.text(
            TEXT, min_size=node.get("minLength", 0), max_size=node.get("maxLength")
        )
    if kinds == "array":
        return st.lists(
            from_schema(node.get("items", {}), formats),
            min_size=node.get("minItems", 0),
            max_size=node.get("maxItems"),
            unique_by=(lambda v: json.dumps(v, sort_keys=True))
            if node.get("uniqueItems")
            else None,
        )
    assert kinds == "object", node
    properties = {
        name: from_schema(prop, formats)
        for name, prop in node.get("properties", {}).items()
    }
    required = set(node.get("required", []))
    # Unknown fields are allowed (no additionalProperties: false in the specs).
    extra = {"zz_unknown": st.one_of(st.none(), st.integers(), st.text(max_size=5))}
    return st.fixed_dictionaries(
        {k: v for k, v in properties.items() if k in required},
        optional={
            **{k: v for k, v in properties.items() if k not in required},
            **extra,
        },
    )


def answers(
    endpoint: str, *, first: dt.date, last: dt.date, subusers: list[str]
) -> st.SearchStrategy[Any]:
    """Bodies for `endpoint`; dates fall in [first, last], stats name `subusers`."""
    schema = copy.deepcopy(spec_schema(endpoint))
    REALITY.get(endpoint, lambda _s: None)(schema)
    _bound(schema)
    formats = {
        "smp-date": st.dates(first, last).map(dt.date.isoformat),
        "smp-subuser": st.sampled_from(subusers),
        "smp-any-date": st.dates(dt.date(2000, 1, 1), dt.date(2100, 1, 1)).map(
            dt.date.isoformat
        ),
    }
    official = Draft202012Validator(spec_schema(endpoint))
    return (
        from_schema(schema, formats)
        .filter(lambda body: _possible(endpoint, body))
        .map(lambda body: _valid(official, body))
    )


def _valid(validator: Draft202012Validator, body: Any) -> Any:
    validator.validate(body)  # valid by the official schema, not only ours
    return body
