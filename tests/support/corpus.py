"""Bad answers for the bad-input corpus: a transport that spoils one endpoint.

`Spoiler` wraps the simulator's transport and rewrites every successful answer
of the endpoints matching `pattern` with a case from CASES. The cases are
pure functions of the decoded JSON, so each is easy to read on its own.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable
from typing import Any

import httpx

HUGE = "x" * (10 * 1024 * 1024)
RTL = "مرحبا עולם Zoë 𝔘𝔫𝔦 \u202etxt.exe"
NAME_FIELDS = {"first_name", "last_name", "company"}
HTML_PAGE = (
    b"<html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>502 Bad Gateway</h1><hr>nginx</body></html>"
)

Mutation = Callable[[Any], Any]


def _walk(value: Any, leaf: Callable[[str | None, Any], Any], key: str | None) -> Any:
    if isinstance(value, dict):
        return {k: _walk(v, leaf, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, leaf, key) for v in value]
    return leaf(key, value)


def _swap_types(_key: str | None, value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return "yes"
    if isinstance(value, int | float):
        return {"n": value}
    return [value]


def _drop_fields(value: Any) -> Any:
    if isinstance(value, dict):
        return {}
    if isinstance(value, list):
        return [_drop_fields(v) for v in value]
    return value


def _extra_fields(value: Any) -> Any:
    if isinstance(value, dict):
        out = {k: _extra_fields(v) for k, v in value.items()}
        out["zz_new_field"] = {"nested": [1, "two", None]}
        return out
    if isinstance(value, list):
        return [_extra_fields(v) for v in value]
    return value


def _huge_first_string(value: Any) -> Any:
    done = False

    def leaf(key: str | None, item: Any) -> Any:
        nonlocal done
        if isinstance(item, str) and not done and key in NAME_FIELDS | {"username"}:
            done = True
            return HUGE
        return item

    return _walk(value, leaf, None)


def _numbers(transform: Callable[[int | float], int | float]) -> Mutation:
    def leaf(_key: str | None, item: Any) -> Any:
        if isinstance(item, int | float) and not isinstance(item, bool):
            return transform(item)
        return item

    return lambda value: _walk(value, leaf, None)


def _duplicate_items(value: Any) -> Any:
    """Every list's items twice (as if pages overlapped)."""
    if isinstance(value, list):
        return [_duplicate_items(v) for v in value] * 2
    if isinstance(value, dict):
        return {k: _duplicate_items(v) for k, v in value.items()}
    return value


def _rtl_names(value: Any) -> Any:
    return _walk(value, lambda k, v: RTL if k in NAME_FIELDS else v, None)


# case -> (mutation of the JSON, or raw bytes; content type)
CASES: dict[str, tuple[Mutation | bytes, str]] = {
    "wrong_types": (lambda v: _walk(v, _swap_types, None), "application/json"),
    "missing_fields": (_drop_fields, "application/json"),
    "extra_fields": (_extra_fields, "application/json"),
    "nulls": (lambda v: _walk(v, lambda _k, _v: None, None), "application/json"),
    "empty_body": (b"", "application/json"),
    "huge_string": (_huge_first_string, "application/json"),
    "unicode_rtl_names": (_rtl_names, "application/json"),
    "html_error_page": (HTML_PAGE, "text/html"),
    "wrong_content_type": (lambda v: v, "text/plain"),
    "duplicated_items": (_duplicate_items, "application/json"),
    "negative_numbers": (_numbers(lambda n: -abs(n) - 1), "application/json"),
    "absurd_numbers": (_numbers(lambda n: 10**30), "application/json"),
}


class Spoiler(httpx.AsyncBaseTransport):
    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        pattern: str,
        case: str,
        unless: str | None = None,
    ):
        self.inner = inner
        self.pattern = pattern
        self.case = case
        # A path the pattern also matches but that is another endpoint
        # (`/v3/teammates/*` and `/v3/teammates/pending`).
        self.unless = unless
        self.spoiled = 0

    def _spoils(self, path: str) -> bool:
        if self.unless is not None and fnmatch.fnmatchcase(path, self.unless):
            return False
        return fnmatch.fnmatchcase(path, self.pattern)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if response.status_code != 200 or not self._spoils(request.url.path):
            return response
        body = await response.aread()
        change, content_type = CASES[self.case]
        if isinstance(change, bytes):
            spoiled = change
        else:
            spoiled = json.dumps(change(json.loads(body))).encode()
        self.spoiled += 1
        headers = [
            (k, v)
            for k, v in response.headers.items()
            if k.lower() not in ("content-type", "content-length")
        ]
        return httpx.Response(
            200, headers=[*headers, ("content-type", content_type)], content=spoiled
        )

    async def aclose(self) -> None:
        await self.inner.aclose()
