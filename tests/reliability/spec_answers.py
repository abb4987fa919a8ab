"""Schema-valid SendGrid answers, generated from the vendored official OpenAPI specs.

`answers(endpoint)` is a Hypothesis strategy of 200 bodies for one endpoint:
the spec's own response schema (tests/spec/sendgrid-oai) with the facts that
reality adds (tests/support/spec.py, which the simulator's conformance test
applies too), turned into a strategy by `from_schema` below
(hypothesis-jsonschema 0.23 is on PyPI but breaks with this Hypothesis: it
uses Hypothesis internals that have changed). Each body is checked against
the untouched official schema with jsonschema.

Every freedom the spec gives beyond those facts (missing optional fields,
nulls where nullable, any text, control characters included) stays in; NUL
is the one exception.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from tests.support.spec import Schema, impossible, real_schema, spec_schema

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
    file, path = ENDPOINTS[endpoint]
    schema = real_schema(file, path)
    _bound(schema)
    formats = {
        "smp-date": st.dates(first, last).map(dt.date.isoformat),
        "smp-subuser": st.sampled_from(subusers),
        "smp-any-date": st.dates(dt.date(2000, 1, 1), dt.date(2100, 1, 1)).map(
            dt.date.isoformat
        ),
    }
    official = Draft202012Validator(spec_schema(file, path))
    return (
        from_schema(schema, formats)
        .filter(lambda body: impossible(path, body) is None)
        .map(lambda body: _valid(official, body))
    )


def _valid(validator: Draft202012Validator, body: Any) -> Any:
    validator.validate(body)  # valid by the official schema, not only ours
    return body
