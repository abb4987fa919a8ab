"""Conformance: simulator bodies validate against the official OpenAPI schemas.

Every endpoint the simulator serves (billing excepted: it has no spec, ADR 0003)
is called with every key kind whose scopes allow it, and each body is validated
with jsonschema (Draft 2020-12) against the spec's schema for that path and
status, `#/components/...` refs resolved within the spec file. A 200 body must
also meet what SendGrid guarantees beyond the schemas (tests/support/spec.py:
the `result` envelope, required usernames, real dates, no repeats), since the
schemas alone accept, say, a teammates list with no `result` at all; the
mutation tests below prove the check catches such answers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import cache
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from tests.support.keys import auth, key_of
from tests.support.spec import impossible, real_validator, spec

from smp.simulator import Account, Simulator, World
from smp.simulator.routes import ROUTES, match

# Simulator route -> (spec file, spec path).
SPEC_PATHS = {
    "/v3/scopes": ("tsg_scopes_v3.json", "/v3/scopes"),
    "/v3/teammates": ("tsg_teammates_v3.json", "/v3/teammates"),
    "/v3/teammates/pending": ("tsg_teammates_v3.json", "/v3/teammates/pending"),
    "/v3/teammates/{username}": ("tsg_teammates_v3.json", "/v3/teammates/{username}"),
    "/v3/teammates/{username}/subuser_access": (
        "tsg_teammates_v3.json",
        "/v3/teammates/{teammate_name}/subuser_access",
    ),
    "/v3/user/account": ("tsg_user_v3.json", "/v3/user/account"),
    "/v3/user/profile": ("tsg_user_v3.json", "/v3/user/profile"),
    "/v3/user/email": ("tsg_user_v3.json", "/v3/user/email"),
    "/v3/user/username": ("tsg_user_v3.json", "/v3/user/username"),
    "/v3/user/credits": ("tsg_user_v3.json", "/v3/user/credits"),
    "/v3/stats": ("tsg_stats_v3.json", "/v3/stats"),
    "/v3/subusers": ("tsg_subusers_v3.json", "/v3/subusers"),
    "/v3/subusers/stats": ("tsg_subusers_v3.json", "/v3/subusers/stats"),
    "/v3/subusers/stats/monthly": (
        "tsg_subusers_v3.json",
        "/v3/subusers/stats/monthly",
    ),
    "/v3/subusers/{name}/credits": (
        "tsg_subusers_v3.json",
        "/v3/subusers/{subuser_name}/credits",
    ),
    "/v3/api_keys": ("tsg_api_keys_v3.json", "/v3/api_keys"),
    "/v3/api_keys/{key_id}": ("tsg_api_keys_v3.json", "/v3/api_keys/{api_key_id}"),
    "/v3/validations/email/jobs": (
        "tsg_email_validation_v3.json",
        "/v3/validations/email/jobs",
    ),
    "/v3/validations/email/jobs/{job_id}": (
        "tsg_email_validation_v3.json",
        "/v3/validations/email/jobs/{job_id}",
    ),
    "/v3/sso/integrations": ("tsg_sso_v3.json", "/v3/sso/integrations"),
    "/v3/sso/integrations/{id}": ("tsg_sso_v3.json", "/v3/sso/integrations/{id}"),
    "/v3/sso/integrations/{integration_id}/certificates": (
        "tsg_sso_v3.json",
        "/v3/sso/integrations/{integration_id}/certificates",
    ),
    "/v3/access_settings/whitelist": (
        "tsg_ip_access_management_v3.json",
        "/v3/access_settings/whitelist",
    ),
    "/v3/access_settings/activity": (
        "tsg_ip_access_management_v3.json",
        "/v3/access_settings/activity",
    ),
}
NO_SPEC = {"/v3/billing/invoices"}  # undocumented endpoint, ADR 0003

# --- Allow-list of known spec bugs (fact sheet §3, §10, §12) ----------------
# Each entry maps a real SendGrid body to the shape the spec's schema expects.
# 1. /v3/teammates: the spec *example* says `results`, its schema and two real
#    clients say `result`; we serve `result`, so the schema passes unchanged
#    (test_known_example_bugs_are_still_in_the_spec keeps the bug on record).
# 2. /v3/teammates/pending: example `pending_id`, schema and clients `token`;
#    likewise served as `token`.
# 3. /v3/api_keys/{id}: the spec wraps the key in {"result": [...]}, SendGrid
#    answers a flat object; we wrap it back before validating.
# 4. subuser_access `_metadata.next_params.after_subuser_id`: the spec text says
#    null means "no more entries" but types it integer; we drop the null.
ALLOW_LIST: dict[str, Callable[[Any], Any]] = {
    "/v3/api_keys/{key_id}": lambda body: {"result": [body]},
    "/v3/teammates/{username}/subuser_access": lambda body: {
        **body,
        "_metadata": {
            "next_params": {
                k: v
                for k, v in body["_metadata"]["next_params"].items()
                if v is not None
            }
        },
    },
}


# 5. Error bodies: the teammates spec types `errors[].field` as a plain string,
#    while SendGrid sends `"field": null` (fact sheet §1, and the nullable field
#    of the other specs' ErrorResponse); we send null and map it to "" here.
def _null_fields_as_empty(body: Any) -> Any:
    return {
        **body,
        "errors": [
            {**e, "field": "" if e.get("field") is None else e["field"]}
            for e in body["errors"]
        ],
    }


ERROR_ALLOW_LIST = {"tsg_teammates_v3.json"}


# 6. The 401 for a bad or revoked key carries `"help": null`, verbatim from real
#    responses (fact sheet §1); ErrorResponse types `help` as an object.
def _drop_null_help(body: Any) -> Any:
    return {
        **body,
        "errors": [
            {k: v for k, v in e.items() if not (k == "help" and v is None)}
            for e in body["errors"]
        ],
    }


# 7. The SSO spec types its error bodies as the bare `errors` array; 401 and
#    403 come from SendGrid's auth layer, the same `{"errors": [...]}` envelope
#    on every endpoint (fact sheet §1); we unwrap it before validating.
BARE_ERRORS = {"tsg_sso_v3.json"}


def _normalise(node: Any) -> Any:
    """OpenAPI 3.0's `nullable: true` survives in these 3.1 files; make it JSON
    Schema (`type: [T, "null"]`) so that documented nulls validate."""
    if isinstance(node, dict):
        out = {k: _normalise(v) for k, v in node.items() if k != "nullable"}
        if node.get("nullable") is True and isinstance(node.get("type"), str):
            out["type"] = [node["type"], "null"]
        return out
    if isinstance(node, list):
        return [_normalise(item) for item in node]
    return node


@cache
def _spec(file: str) -> dict[str, Any]:
    return _normalise(spec(file))


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def validator(route: str, status: int) -> Draft202012Validator | None:
    file, spec_path = SPEC_PATHS[route]
    spec = _spec(file)
    response = spec["paths"][spec_path]["get"]["responses"].get(str(status))
    if response is None:
        return None
    if "$ref" in response:
        response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    if "application/json" not in response.get("content", {}):
        return None
    uri = f"urn:sendgrid:{file}"
    registry = Registry().with_resource(uri, Resource(spec, DRAFT202012))
    pointer = _pointer(
        "paths", spec_path, "get", "responses", str(status), "content",
        "application/json", "schema",
    )  # fmt: skip
    if "$ref" in spec["paths"][spec_path]["get"]["responses"][str(status)]:
        ref = spec["paths"][spec_path]["get"]["responses"][str(status)]["$ref"]
        pointer = ref[2:] + "/content/application~1json/schema"
    return Draft202012Validator({"$ref": f"{uri}#/{pointer}"}, registry=registry)


def violations(template: str, status: int, body: Any) -> list[str]:
    """What is wrong with a body served for `template` with `status`: the
    official schema's errors, then, for a 200, those of reality's facts."""
    check = validator(template, status)
    if check is None:
        # The spec documents no body for this status (most read endpoints
        # list only 200); fact sheet §1 bodies are tested in test_semantics.
        return []
    file, spec_path = SPEC_PATHS[template]
    if status == 200 and template in ALLOW_LIST:
        body = ALLOW_LIST[template](body)
    if status >= 400 and file in ERROR_ALLOW_LIST:
        body = _null_fields_as_empty(body)
    if status == 401:
        body = _drop_null_help(body)
    if status >= 400 and file in BARE_ERRORS:
        body = body["errors"]
    found = [error.message for error in sorted(check.iter_errors(body), key=str)]
    if status != 200:
        return found
    real = real_validator(file, spec_path)
    found += [error.message for error in sorted(real.iter_errors(body), key=str)]
    if not found:
        why = impossible(spec_path, body)
        found += [why] if why else []
    return found


def _calls(world: World, template: str) -> list[tuple[str, dict[str, Any]]]:
    account = world.accounts[0]
    restricted = next(n for n, e in account.subuser_access.items() if len(e) >= 2)
    subs = [s.username for s in account.subusers]
    today = world.today_date()
    last_month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    concrete = {
        "/v3/teammates/{username}": [
            (f"/v3/teammates/{t['username']}", {}) for t in account.teammates[:4]
        ],
        "/v3/teammates/{username}/subuser_access": [
            (f"/v3/teammates/{account.teammates[0]['username']}/subuser_access", {}),
            (f"/v3/teammates/{restricted}/subuser_access", {"limit": 1}),
        ],
        "/v3/teammates": [("/v3/teammates", {}), ("/v3/teammates", {"limit": 3})],
        "/v3/stats": [
            (
                "/v3/stats",
                {"start_date": str(today - dt.timedelta(days=90)), "aggregated_by": by},
            )
            for by in ("day", "week", "month")
        ],
        "/v3/subusers": [
            ("/v3/subusers", {}),
            ("/v3/subusers", {"include_region": "true"}),
        ],
        "/v3/subusers/stats": [
            (
                "/v3/subusers/stats",
                {"subusers": subs, "start_date": str(today - dt.timedelta(days=15))},
            ),
        ],
        "/v3/subusers/stats/monthly": [
            ("/v3/subusers/stats/monthly", {"date": str(last_month)})
        ],
        "/v3/subusers/{name}/credits": [(f"/v3/subusers/{s}/credits", {}) for s in subs]
        + [("/v3/subusers/ghost/credits", {})],
        "/v3/api_keys/{key_id}": [
            (f"/v3/api_keys/{k.key_id}", {})
            for k in world.keys
            if k.account == account.username and k.kind != "revoked"
        ],
        **_access_calls(account),
    }
    return concrete.get(template, [(template, {})])


def _access_calls(account: Account) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """SSO integrations, validation jobs (each with and without `?si=true`)."""
    sso = [s["id"] for s in account.sso_integrations]
    jobs = [j["id"] for j in account.validation_jobs]
    return {
        "/v3/sso/integrations": [
            ("/v3/sso/integrations", {}),
            ("/v3/sso/integrations", {"si": "true"}),
        ],
        "/v3/sso/integrations/{id}": [
            (f"/v3/sso/integrations/{i}", si)
            for i in sso
            for si in ({}, {"si": "true"})
        ],
        "/v3/sso/integrations/{integration_id}/certificates": [
            (f"/v3/sso/integrations/{i}/certificates", {}) for i in sso
        ],
        "/v3/validations/email/jobs/{job_id}": [
            (f"/v3/validations/email/jobs/{j}", {}) for j in jobs
        ],
        "/v3/access_settings/activity": [
            ("/v3/access_settings/activity", {}),
            ("/v3/access_settings/activity", {"limit": 2}),
        ],
    }


async def _conformance(
    world: World, client: httpx.AsyncClient, template: str, kind: str
) -> tuple[list[str], int]:
    """Call `template` as `kind` would: (one line per wrong body, bodies checked)."""
    key = key_of(world, kind)
    route = next(r for r in ROUTES if r.template == template)
    may_call = kind != "revoked" and (route.scope is None or route.scope in key.scopes)
    wrong_bodies: list[str] = []
    checked = 0
    for path, params in _calls(world, template):
        reply = await client.get(path, params=params, headers=auth(key))
        if may_call:
            assert reply.status_code in (200, 400), (path, reply.text)
        else:
            assert reply.status_code in (401, 403)
        if validator(template, reply.status_code) is None:
            continue
        wrong = violations(template, reply.status_code, reply.json())
        if wrong:
            wrong_bodies.append(f"{path} {params} {reply.status_code}: {wrong}")
        checked += 1
    if may_call:
        assert checked > 0  # every endpoint a key may call has a 200 schema
    return wrong_bodies, checked


CASES = [
    (route.template, kind)
    for route in ROUTES
    if route.template not in NO_SPEC
    for kind in ("full", "restricted", "billing", "validation", "revoked")
]


@pytest.mark.parametrize(("template", "kind"), CASES)
async def test_bodies_validate_against_the_spec(
    world: World, client: httpx.AsyncClient, template: str, kind: str
) -> None:
    found, _ = await _conformance(world, client, template, kind)
    assert not found, found[0]


class Mutating(httpx.AsyncBaseTransport):
    """The simulator, except that its 200 answers for `template` are mutated."""

    def __init__(
        self, sim: Simulator, template: str, mutate: Callable[[Any], Any]
    ) -> None:
        self.inner = sim.transport()
        self.template = template
        self.mutate = mutate
        self.mutated = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        reply = await self.inner.handle_async_request(request)
        found = match(request.url.path)
        if reply.status_code != 200 or found is None:
            return reply
        if found[0].template != self.template:
            return reply
        await reply.aread()
        self.mutated += 1
        return httpx.Response(200, json=self.mutate(reply.json()), request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _without(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda item: {k: v for k, v in item.items() if k != name}


def _each_result(change: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda body: {"result": [change(item) for item in body["result"]]}


def _each_day(change: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda days: [change(day) for day in days]


def _each_entry(change: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return _each_day(lambda day: {**day, "stats": [change(e) for e in day["stats"]]})


# Answers SendGrid cannot give, each a simulator bug the check must catch:
# name -> (endpoint, how its 200 body is changed).
MUTATIONS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "teammates as results": (
        "/v3/teammates",
        lambda body: {"results": body["result"]},
    ),
    "pending invites as results": (
        "/v3/teammates/pending",
        lambda body: {"results": body["result"]},
    ),
    "teammates without a username": (
        "/v3/teammates",
        _each_result(_without("username")),
    ),
    "invites without an e-mail": (
        "/v3/teammates/pending",
        _each_result(_without("email")),
    ),
    "a teammate twice": (
        "/v3/teammates",
        lambda body: {"result": body["result"] + body["result"][:1]},
    ),
    "a subuser id of 0": (
        "/v3/subusers",
        lambda subs: [{**sub, "id": 0} for sub in subs],
    ),
    "a reputation above 100": (
        "/v3/user/account",
        lambda body: {**body, "reputation": 101},
    ),
    "a credit reset that is no date": (
        "/v3/user/credits",
        lambda body: {**body, "next_reset": "soon"},
    ),
    "a stats date that is no date": (
        "/v3/stats",
        _each_day(lambda day: {**day, "date": day["date"].replace("-", "/")}),
    ),
    "two global stats entries a day": (
        "/v3/stats",
        _each_day(lambda day: {**day, "stats": day["stats"] * 2}),
    ),
    "a stats date twice": (
        "/v3/stats",
        lambda days: days + days[:1],
    ),
    "subuser stats without names": (
        "/v3/subusers/stats",
        _each_entry(_without("name")),
    ),
    "an SSO integration without enabled": (
        "/v3/sso/integrations",
        lambda items: [_without("enabled")(item) for item in items],
    ),
    "access attempts without an address": (
        "/v3/access_settings/activity",
        _each_result(_without("ip")),
    ),
    "metered subuser credits without figures": (
        "/v3/subusers/{name}/credits",
        lambda body: {**body, "type": "recurring", "total": None, "used": None},
    ),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
async def test_a_mutated_answer_fails_conformance(
    world: World, sim: Simulator, name: str
) -> None:
    template, mutate = MUTATIONS[name]
    transport = Mutating(sim, template, mutate)
    async with httpx.AsyncClient(
        transport=transport, base_url="https://api.sendgrid.com"
    ) as client:
        found, checked = await _conformance(world, client, template, "full")
    assert transport.mutated > 0
    assert checked >= transport.mutated
    assert len(found) == transport.mutated  # every mutated body, not merely one


def test_the_schemas_alone_accept_teammates_without_the_envelope() -> None:
    """Why reality's facts are needed: the official schemas require nothing."""
    body = {"results": [{"username": "a"}]}
    for template in ("/v3/teammates", "/v3/teammates/pending"):
        check = validator(template, 200)
        assert check is not None
        assert not list(check.iter_errors(body))
        assert violations(template, 200, body)


def test_every_served_endpoint_is_covered() -> None:
    assert {r.template for r in ROUTES} == set(SPEC_PATHS) | NO_SPEC


def _example(file: str, spec_path: str) -> Any:
    content = _spec(file)["paths"][spec_path]["get"]["responses"]["200"]["content"]
    return content["application/json"]["examples"]["response"]["value"]


def _properties(template: str) -> dict[str, Any]:
    file, spec_path = SPEC_PATHS[template]
    content = _spec(file)["paths"][spec_path]["get"]["responses"]["200"]["content"]
    properties: dict[str, Any] = content["application/json"]["schema"]["properties"]
    return properties


def test_known_example_bugs_are_still_in_the_spec() -> None:
    teammates = "tsg_teammates_v3.json"
    # 1. The list's example key is `results`; its schema (and we) say `result`.
    assert set(_example(teammates, "/v3/teammates")) == {"results"}
    assert set(_properties("/v3/teammates")) == {"result"}
    # 2. Pending invites: the example says `pending_id`, the schema `token`.
    invites = _example(teammates, "/v3/teammates/pending")["result"]
    assert invites
    assert all("pending_id" in i and "token" not in i for i in invites)
    invite = _properties("/v3/teammates/pending")["result"]["items"]["properties"]
    assert "token" in invite
    assert "pending_id" not in invite
    # 3. One API key: the spec wraps it in `result`, SendGrid answers it flat.
    assert set(_properties("/v3/api_keys/{key_id}")) == {"result"}


def test_the_validator_rejects_a_wrong_body() -> None:
    check = validator("/v3/user/credits", 200)
    assert check is not None
    assert list(check.iter_errors({"remain": "lots"}))
