"""/scim/v2 on a real `smp serve`: scim2-tester's checks, tokens, bad payloads.

Every check scim2-tester runs must succeed for what SMP declares; a check may
only be skipped for a capability SMP declares unsupported.
"""

from __future__ import annotations

import collections
import datetime as dt
import json

import httpx
import pytest
from scim2_tester import Status, check_server
from sqlalchemy import Engine, func, select
from tests.support.scim import ScimServer
from typer.testing import CliRunner

from smp.cli.main import app
from smp.storage import session_factory
from smp.storage.scim_tokens import create_scim_token
from smp.storage.tables import PersonRow, ScimTokenRow

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
# What SMP's ServiceProviderConfig says it does not do: the only reasons a
# compliance check may be skipped.
UNSUPPORTED = ("bulk", "sort", "etag", "password", "group", "cursor")
CRUD_CHECKS = {
    "object_creation",
    "object_query",
    "object_replacement",
    "object_deletion",
    "check_add_attribute",
    "check_replace_attribute",
    "check_remove_attribute",
    "search_with_attributes",
}


def test_scim2_tester_passes_everything_smp_declares(served: ScimServer) -> None:
    with served.client() as client:
        results = check_server(client)
    counts = collections.Counter(result.status.name for result in results)
    bad = [
        f"{result.status.name} {result.title} ({result.resource_type}): {result.reason}"
        for result in results
        if result.status is not Status.SUCCESS
        and not (
            result.status is Status.SKIPPED
            and any(
                word in f"{result.title} {result.reason}".lower()
                for word in UNSUPPORTED
            )
        )
    ]
    assert not bad, f"{dict(counts)}\n" + "\n".join(bad)
    # The checks ran on Users, not merely on discovery.
    ran = {r.title for r in results if r.resource_type == "User"}
    assert ran >= CRUD_CHECKS, sorted(ran)
    assert counts["SUCCESS"] >= 100, dict(counts)


def test_service_provider_config_needs_no_token_and_says_what_smp_does(
    served: ScimServer,
) -> None:
    with served.http() as http:
        config = http.get("ServiceProviderConfig").json()
        # Discovery beyond the config needs the token.
        assert http.get("ResourceTypes").status_code == 401
    assert config["patch"] == {"supported": True}
    assert config["filter"] == {"supported": True, "maxResults": 200}
    for unsupported in ("bulk", "sort", "etag", "changePassword"):
        assert config[unsupported]["supported"] is False
    assert [s["type"] for s in config["authenticationSchemes"]] == ["oauthbearertoken"]

    with served.http(served.scim_token) as http:
        types = http.get("ResourceTypes").json()["Resources"]
        schemas = {s["id"] for s in http.get("Schemas").json()["Resources"]}
    assert [(t["name"], t["endpoint"]) for t in types] == [("User", "/Users")]
    assert types[0]["schemaExtensions"] == [{"schema": ENTERPRISE, "required": False}]
    assert ENTERPRISE in schemas
    assert "urn:ietf:params:scim:schemas:core:2.0:Group" not in schemas


def _assert_scim_401(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["status"] == "401"
    assert "smp people scim-token" in body["detail"]


@pytest.mark.parametrize("who", ["nobody", "wrong token", "api token", "basic auth"])
def test_scim_needs_a_scim_token(served: ScimServer, who: str) -> None:
    token = {
        "nobody": None,
        "wrong token": "smpscim_" + "x" * 43,
        "api token": served.api_token,
        "basic auth": None,
    }[who]
    with served.http(token) as http:
        if who == "basic auth":
            http.auth = httpx.BasicAuth("admin", served.scim_token)
        _assert_scim_401(http.get("Users"))
        _assert_scim_401(http.post("Users", json={"userName": "intruder"}))


def test_the_api_token_works_where_the_scim_token_does_not(
    served: ScimServer,
) -> None:
    with httpx.Client(base_url=served.served.url, timeout=30) as http:
        api = {"Authorization": f"Bearer {served.api_token}"}
        scim = {"Authorization": f"Bearer {served.scim_token}"}
        assert http.get("/api/v1/integrations", headers=api).status_code == 200
        refused = http.get("/api/v1/integrations", headers=scim)
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")


def test_a_used_token_records_when(served: ScimServer, served_db: Engine) -> None:
    with served.http(served.scim_token) as http:
        assert http.get("Users").status_code == 200
    with served_db.connect() as connection:
        used = connection.execute(
            select(ScimTokenRow.last_used_at).where(ScimTokenRow.label == "Okta")
        ).all()
    assert len(used) == 1
    assert used[0].last_used_at is not None


def test_a_revoked_token_opens_nothing(served: ScimServer, served_db: Engine) -> None:
    with session_factory(served_db).begin() as session:
        record, raw = create_scim_token(
            session, "Temporary", created_by=None, now=dt.datetime.now(dt.UTC)
        )
    with served.http(raw) as http:
        assert http.get("Users").status_code == 200
    runner = CliRunner()
    listed = runner.invoke(
        app, ["people", "scim-tokens", "--json"], env=served.home.env
    )
    assert listed.exit_code == 0, listed.output
    labels = {t["label"]: t for t in json.loads(listed.stdout)}
    assert labels["Temporary"]["id"] == record.id
    assert labels["Temporary"]["last_used_at"] is not None
    assert raw not in listed.stdout

    revoked = runner.invoke(
        app, ["people", "scim-revoke", str(record.id)], env=served.home.env
    )
    assert revoked.exit_code == 0, revoked.output
    with served.http(raw) as http:
        _assert_scim_401(http.get("Users"))
    again = runner.invoke(
        app, ["people", "scim-revoke", str(record.id)], env=served.home.env
    )
    assert again.exit_code == 2
    assert f"no SCIM token has the id {record.id}" in again.stderr


def _people_named(engine: Engine, user_name: str) -> int:
    with engine.connect() as connection:
        return (
            connection.scalar(
                select(func.count())
                .select_from(PersonRow)
                .where(PersonRow.email_key == user_name)
            )
            or 0
        )


@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        (b'{"userName": "broken@acme.example"', "invalidSyntax"),
        (b'["not", "a", "user"]', "invalidSyntax"),
        (b'{"userName": "broken@acme.example", "active": "maybe"}', "invalidValue"),
        (
            b'{"userName": "broken@acme.example", "emails": [{"value": "no at sign"}]}',
            "invalidValue",
        ),
        (
            b'{"userName": "broken@acme.example", "emails": "x@y.example"}',
            "invalidValue",
        ),
        (b'{"displayName": "No user name"}', "invalidValue"),
    ],
)
def test_a_payload_that_breaks_the_schema_is_an_rfc7644_error(
    served: ScimServer, served_db: Engine, body: bytes, scim_type: str
) -> None:
    with served.http(served.scim_token) as http:
        response = http.post(
            "Users",
            content=body,
            headers={"Content-Type": "application/scim+json"},
        )
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["schemas"] == [ERROR_SCHEMA]
    assert error["status"] == "400"
    assert error["scimType"] == scim_type
    assert _people_named(served_db, "broken@acme.example") == 0


def test_a_value_longer_than_smp_keeps_is_refused_by_name(
    served: ScimServer, served_db: Engine
) -> None:
    with served.http(served.scim_token) as http:
        response = http.post(
            "Users",
            json={
                "userName": "long@acme.example",
                "name": {"givenName": "G" * 201},
            },
        )
    assert response.status_code == 400, response.text
    assert response.json()["scimType"] == "invalidValue"
    assert "name.givenName" in response.json()["detail"]
    assert _people_named(served_db, "long@acme.example") == 0


def test_a_large_body_is_refused_before_it_is_read_as_a_user(
    served: ScimServer,
) -> None:
    with served.http(served.scim_token) as http:
        response = http.post(
            "Users",
            json={"userName": "big@acme.example", "title": "x" * 40_000},
        )
    assert response.status_code == 413, response.text
    assert response.json()["schemas"] == [ERROR_SCHEMA]


def test_a_body_over_the_server_s_limit_is_refused_before_scim_reads_it(
    served: ScimServer,
) -> None:
    with served.http(served.scim_token) as http:
        response = http.post(
            "Users",
            json={"userName": "huge@acme.example", "title": "x" * 70_000},
        )
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_a_filter_scim_cannot_read_is_an_invalid_filter(
    served: ScimServer,
) -> None:
    with served.http(served.scim_token) as http:
        response = http.get("Users", params={"filter": 'userName eq "unclosed'})
    assert response.status_code == 400, response.text
    assert response.json()["scimType"] == "invalidFilter"
