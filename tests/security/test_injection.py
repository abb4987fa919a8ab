"""SQL injection and XSS strings into every filter, form and body of a real `smp serve`.

Filters, form fields and body fields come from the app's routes and OpenAPI
document. No answer is a 500, refusals never echo the input, pages never
contain it unescaped, searches find exactly the members of the simulator's
world that contain the string (none), and what is stored round-trips as data.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from markupsafe import escape
from tests.security.site import (
    CHANNEL_NAME,
    CHANNEL_URL,
    INTEGRATION_NAME,
    REVIEW_NAME,
    Site,
    log_in,
    sign_in,
)
from tests.support.figures import record
from tests.support.routes import PUBLIC, Route, app_routes
from tests.support.web import csrf_of

from smp.model.users import MIN_PASSWORD

pytestmark = pytest.mark.loopback

SQLI = (
    "' OR '1'='1",
    "'; DROP TABLE members; --",
    '" OR ""="',
    "' UNION SELECT password_hash, name FROM users --",
    "%' OR 1=1 --",
    "%",
    "_",
    "admin'--",
    "1) OR (1=1",
)
XSS = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg/onload=alert(1)>",
    "</title><script>alert(2)</script>",
    "javascript:alert(3)",
)
# NUL and a terminal escape: PostgreSQL refuses NUL in text, logs show escapes.
CONTROL = ("a\x00b", "\x1b[31mred\x1b[0m")
PAYLOADS = SQLI + XSS + CONTROL
PRINTABLE = [p for p in PAYLOADS if p not in CONTROL]  # refused as text input
ROUTES, SCHEMA = app_routes()


def _people_matching(site: Site, text: str) -> int:
    """How many people of the imported directory a search for `text` finds."""
    needle = " ".join(text.split()).lower()
    return sum(
        any(needle in person[f].lower() for f in ("email", "first_name", "last_name"))
        for person in site.people
    )


def _matching(site: Site, route: Route, text: str) -> int:
    """What a search of this route should find: people, or the world's members."""
    people = "/people" in route.path
    return _people_matching(site, text) if people else _members_matching(site, text)


def _members_matching(site: Site, text: str) -> int:
    """How many of the world's members a substring search for `text` finds."""
    account = site.world.accounts[0]
    needle = " ".join(text.split()).lower()
    fields = [
        (t["email"], t["username"], t["first_name"], t["last_name"])
        for t in account.teammates
    ] + [(p["email"], "", "", "") for p in account.pending]
    return sum(any(needle in (f or "").lower() for f in row) for row in fields)


SECRET_FIELDS = {
    "access_token",
    "billing_token",
    "key",
    "password",
    # an alert channel's: its URL holds a token, and its shared secrets
    "url",
    "hmac_secret",
    "smtp_password",
}


def _no_echo(
    answer: httpx.Response,
    payload: str,
    where: object,
    *,
    secret: bool = False,
    quoted: bool = False,
) -> None:
    """No 500; API refusals never repeat the input (but `quoted`); pages only
    escaped, and never a key or password, escaped or not."""
    assert answer.status_code < 500, (where, answer.text[:300])
    html = "html" in answer.headers.get("content-type", "")
    if not html and not quoted and len(payload) >= 4 and answer.status_code >= 400:
        assert payload not in answer.text, where
    if html and set(payload) & set("<>\"'&"):
        assert payload not in answer.text, where
    if html and secret and len(payload) >= 4:
        assert payload not in answer.text, where
        assert str(escape(payload)) not in answer.text, where


def _spots(route: Route) -> Iterator[tuple[str, str]]:
    for name in route.path_fields:
        yield "path", name
    for name in route.query_fields:
        yield "query", name


def _request(
    client: httpx.Client, site: Site, route: Route, spot: tuple[str, str], payload: str
) -> httpx.Response:
    values = site.path_values(site.viewer)
    params: dict[str, str] = {}
    if "integration" in route.query_fields:
        params["integration"] = str(site.integration_id)
    if spot[0] == "path":
        values[spot[1]] = quote(payload, safe="")
    else:
        params[spot[1]] = payload
    return client.get(route.url(values), params=params)


# A review filter's refusal quotes where its parse stopped (40 characters at
# most), so the reader sees the mistake: JSON data, escaped on any page.
QUOTED_FILTERS = {("query", "filter")}


def test_every_filter_takes_injection_strings_as_data(site: Site) -> None:
    reads = [r for r in ROUTES if r.method == "GET" and r.key not in PUBLIC]
    sent = searched = 0
    spots: set[tuple[str, str, str]] = set()
    with site.api(site.admin_token) as api, sign_in(site.http, site.admin) as browser:
        for route in reads:
            client = api if route.api else browser
            for spot in _spots(route):
                spots.add((route.path, *spot))
                for payload in PAYLOADS:
                    answer = _request(client, site, route, spot, payload)
                    _no_echo(
                        answer,
                        payload,
                        (route.path, spot, payload),
                        quoted=spot in QUOTED_FILTERS,
                    )
                    sent += 1
                    if spot[1] != "q" or answer.status_code != 200:
                        continue
                    searched += 1
                    expected = _matching(site, route, payload)
                    if route.api:
                        assert answer.json()["total"] == expected, (route, payload)
                    else:
                        testid = "people" if "/people" in route.path else "members"
                        total = answer.text.split(f'data-testid="{testid}-total">')[1]
                        assert total.startswith(f"{expected} "), (route, payload)
                        assert total.split("<")[0].endswith(("match", "matches"))
        members = api.get(
            "/api/v1/members", params={"integration": site.integration_id}
        ).json()
    account = site.world.accounts[0]
    assert members["total"] == len(account.teammates) + len(account.pending)
    # the API's and the dashboard's member search, the API's and the web's people
    assert searched == 4 * len(PRINTABLE)
    record(
        "security_filters",
        {
            "database": site.database,
            "filters": len(spots),
            "payloads": len(PAYLOADS),
            "requests": sent,
        },
    )


def test_review_filters_refuse_control_characters_in_a_value(site: Site) -> None:
    """Control characters inside a filter's value are refused like anywhere
    else, never sent to the database (PostgreSQL refuses NUL in text)."""
    items = f"/api/v1/reviews/{site.campaign_id}/items"
    with site.api(site.admin_token) as api:
        for payload in CONTROL:
            for expression in (f"department={payload}", f'role="{payload}"'):
                answer = api.get(items, params={"filter": expression})
                assert answer.status_code == 422, (expression, answer.text[:200])
                assert "control characters" in answer.json()["detail"]


FORM_DEFAULTS = {
    "name": "Injected",
    "access_token": "SG.not-a-key",
    "billing_token": "",
    "label": "label",
    "key": "SG.not-a-key",
    "hours": "6",
    "password": "a long enough password",
    "role": "viewer",
    # an alert channel (a webhook to a closed local port), a review decision
    "kind": "webhook",
    "url": CHANNEL_URL,
    "decision": "keep",
}


def test_every_form_field_takes_injection_strings_as_data(site: Site) -> None:
    forms = [
        r
        for r in ROUTES
        if not r.api and r.write and r.key not in PUBLIC and r.path != "/logout"
    ]
    sent = 0
    created: Counter[str] = Counter()
    fields: set[tuple[str, str]] = set()
    with sign_in(site.http, site.admin) as admin:
        csrf = csrf_of(admin.get("/integrations").text)
        for route in forms:
            # These act on valid ids: only ever post them with an injected id.
            acts = route.path.endswith(("/remove", "/sync", "/delete"))
            targets = [f"path:{p}" for p in route.path_fields]
            if not acts:
                targets += [f for f in route.form_fields if f != "csrf_token"]
            for field in targets:
                fields.add((route.path, field))
                for index, payload in enumerate(PAYLOADS):
                    values = site.path_values(site.viewer)
                    data = {
                        f: FORM_DEFAULTS[f]
                        for f in route.form_fields
                        if f in FORM_DEFAULTS
                    }
                    data["csrf_token"] = csrf
                    if route.path == "/users":
                        data["name"] = f"form-inj-{index}"  # a new user each time
                    if field.startswith("path:"):
                        values[field[5:]] = quote(payload, safe="")
                    else:
                        data[field] = payload
                    answer = admin.post(route.url(values), data=data)
                    _no_echo(
                        answer,
                        payload,
                        (route.path, field, payload),
                        secret=field in SECRET_FIELDS,
                    )
                    sent += 1
                    if route.path.endswith("/rename") and answer.status_code == 303:
                        _undo_rename(admin, route, site, csrf)
                    if route.path == "/users" and answer.status_code == 303:
                        created[field] += 1
                        _check_user_round_trip(site, data["name"], data["password"])
    with site.api(site.admin_token) as api:
        names = {i["name"] for i in api.get("/api/v1/integrations").json()["items"]}
        keys = api.get(
            "/api/v1/service-accounts", params={"integration": site.integration_id}
        ).json()["items"]
        users = {u["name"] for u in api.get("/api/v1/users").json()["items"]}
    assert "Injected" not in names  # every integrate post was refused (bad key)
    assert [k["removed_at"] for k in keys] == [None, None]
    assert {site.admin, site.viewer} <= users
    # Users were created only from payloads that are a valid name or password.
    assert created == {
        "password": sum(len(p) >= MIN_PASSWORD for p in PAYLOADS),
        # A name is letters or digits of any script, spaces and . ' _ -
        "name": sum(all(c.isalnum() or c in " .'_-" for c in p) for p in PAYLOADS),
    }
    record(
        "security_forms",
        {
            "database": site.database,
            "form_fields": len(fields),
            "payloads": len(PAYLOADS),
            "posts": sent,
        },
    )


def _undo_rename(admin: httpx.Client, route: Route, site: Site, csrf: str) -> None:
    """Give the integration its name again: later tests look for it on pages."""
    url = route.url(site.path_values(site.viewer))
    undo = admin.post(url, data={"name": INTEGRATION_NAME, "csrf_token": csrf})
    assert undo.status_code == 303


def _check_user_round_trip(site: Site, name: str, password: str) -> None:
    """The user signs in with exactly the text given, then is removed."""
    # Its own client address: failed logins are throttled per address.
    transport = httpx.HTTPTransport(local_address="127.0.0.9")
    with httpx.Client(base_url=site.http.url, transport=transport) as client:
        assert log_in(client, name, password).status_code == 303, password
    with site.api(site.admin_token) as api:
        assert api.delete(f"/api/v1/users/{name}").status_code == 204


def test_login_form_is_not_bypassed(site: Site) -> None:
    # A user of its own, whose failed sign-ins no other test waits for.
    target = "login-target"
    with site.api(site.admin_token) as api:
        answer = api.post(
            "/api/v1/users", json={"name": target, "password": "target password"}
        )
        assert answer.status_code == 201
    for index, payload in enumerate(PAYLOADS):
        # Each from its own loopback address, so the throttle does not mask it.
        transport = httpx.HTTPTransport(local_address=f"127.0.1.{index + 1}")
        with httpx.Client(base_url=site.http.url, transport=transport) as client:
            for user, password in ((payload, payload), (target, payload)):
                answer = log_in(client, user, password)
                assert answer.status_code in (401, 429), (payload, answer.text[:200])
                assert "smp_session" not in answer.headers.get("set-cookie", "")
                _no_echo(answer, payload if user != payload else "", payload)
                if "<" in payload:
                    assert payload not in answer.text


def _body_fields(operation: dict[str, Any]) -> list[tuple[str, ...]]:
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = SCHEMA["components"]["schemas"][ref.rsplit("/", 1)[1]]
    found: list[tuple[str, ...]] = []
    for name, prop in body["properties"].items():
        found.append((name,))
        inner = prop.get("items", {}).get("$ref")
        if inner:
            item = SCHEMA["components"]["schemas"][inner.rsplit("/", 1)[1]]
            found += [(name, sub) for sub in item["properties"]]
    return found


BODY_DEFAULTS: dict[str, Any] = {
    "name": "api-injected",
    "keys": [],
    "label": "label",
    "key": "SG.not-a-key",
    "password": "a long enough password",
    "role": "viewer",
    "region": "global",
    "sync_interval_s": 3600,
    "domain": "injected.example",
    "email": "someone@injected.example",
    "reason": "a reason",
    # A snooze date a month ahead of whatever day the suite runs.
    "until": (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)).isoformat(),
    "value": 30,
    # an alert channel: a webhook to a closed local port
    "kind": "webhook",
    "url": CHANNEL_URL,
    "hmac_secret": "a long enough shared secret",
    "min_severity": "high",
    # a review campaign and a decision on one of its items
    "reviewer_rule": "manager",
    "decision": "keep",
}


def test_every_api_body_field_takes_injection_strings_as_data(site: Site) -> None:
    sent = stored = 0
    fields = 0
    with site.api(site.admin_token) as api:
        for path, operations in SCHEMA["paths"].items():
            for method, operation in operations.items():
                if "requestBody" not in operation:
                    continue
                for field in _body_fields(operation):
                    fields += 1
                    for index, payload in enumerate(PAYLOADS):
                        body = _body(field, payload, site, path, index)
                        url = path.replace("{integration_id}", str(site.integration_id))
                        for name in (
                            "finding_id",
                            "rule_id",
                            "threshold",
                            "campaign_id",
                        ):
                            url = url.replace(f"{{{name}}}", site.path_values("")[name])
                        answer = api.request(method.upper(), url, json=body)
                        assert answer.status_code < 500, (path, field, payload)
                        assert answer.headers["content-type"].startswith(
                            ("application/json", "application/problem+json")
                        )
                        # Labels and names may be quoted back; keys never.
                        if field[-1] in SECRET_FIELDS and len(payload) >= 4:
                            assert payload not in answer.text, (path, field)
                        sent += 1
                        stored += _round_trip(api, path, field, payload, answer)
    # Integration names accept any printable text; each came back exactly.
    assert stored == len(PRINTABLE)
    record(
        "security_api_bodies",
        {
            "database": site.database,
            "body_fields": fields,
            "payloads": len(PAYLOADS),
            "requests": sent,
        },
    )


def _body(
    field: tuple[str, ...], payload: str, site: Site, path: str, index: int
) -> dict[str, Any]:
    body = {"integration_id": site.integration_id, **BODY_DEFAULTS}
    if path == "/api/v1/users":
        body["name"] = f"api-inj-{index}"
    if path == "/api/v1/reviews":
        body["integrations"] = [str(site.integration_id)]
    if path == "/api/v1/reviews/{campaign_id}/decisions" and field != ("filter",):
        body["items"] = [site.item_id]  # items or a filter, never both
    if len(field) == 1:
        body[field[0]] = payload
    else:
        body[field[0]] = [{"label": "label", "key": "SG.not-a-key", field[1]: payload}]
    allowed = {
        "/api/v1/integrations": {
            "name",
            "region",
            "sync_interval_s",
            "keys",
            "billing_account_confirmed",
        },
        # Only the field under test: a default would change the integration.
        "/api/v1/integrations/{integration_id}": {field[0]},
        "/api/v1/service-accounts": {
            "integration_id",
            "label",
            "key",
            "billing_account_confirmed",
        },
        "/api/v1/sync-runs": {"integration_id"},
        "/api/v1/users": {"name", "password", "role"},
        "/api/v1/users/me": {"time_zone"},
        "/api/v1/users/me/tokens": {"label"},
        "/api/v1/users/{name}": {"role"},
        "/api/v1/company-domains": {"domain"},
        "/api/v1/account-links": {"email", "person_id"},
        "/api/v1/findings/{finding_id}/accept": {"reason"},
        "/api/v1/findings/{finding_id}/snooze": {"reason", "until"},
        "/api/v1/finding-thresholds/{rule_id}/{threshold}": {"value", "integration_id"},
        "/api/v1/alert-channels": {
            "name",
            "kind",
            "min_severity",
            "url",
            "hmac_secret",
            field[0],  # the e-mail fields too, one at a time
        },
        "/api/v1/reviews": {"name", "integrations", "due", "reviewer_rule"},
        "/api/v1/reviews/{campaign_id}/decisions": {
            "items",
            "filter",
            "decision",
            "reason",
            field[0],
        },
    }[path]
    return {k: v for k, v in body.items() if k in allowed}


def _round_trip(
    api: httpx.Client, path: str, field: tuple[str, ...], payload: str, answer: Any
) -> int:
    """Stored payloads come back as the same text; then they are removed."""
    if path == "/api/v1/integrations/{integration_id}" and answer.status_code == 200:
        # A rename reads back as given (spaces folded); then it is undone.
        assert field == ("name",)
        assert answer.json()["name"] == " ".join(payload.split())
        undo = api.patch(str(answer.request.url), json={"name": INTEGRATION_NAME})
        assert undo.status_code == 200
        return 0
    if answer.status_code != 201:
        return 0
    if path == "/api/v1/integrations":
        created = answer.json()["integration"]
        assert field == ("name",)
        read = api.get(f"/api/v1/integrations/{created['id']}").json()
        assert read["name"] == payload
        assert api.delete(f"/api/v1/integrations/{created['id']}").status_code == 204
        return 1
    if path == "/api/v1/users":
        user = json.loads(answer.text)
        assert field in {("password",), ("name",)}
        assert user["role"] == "viewer"
        if field == ("name",):
            assert user["name"] == payload  # "_" is a valid user name
        assert api.delete(f"/api/v1/users/{answer.json()['name']}").status_code == 204
        return 0
    if path == "/api/v1/alert-channels":
        # Names are any printable text; secrets go in and never come out.
        # A webhook leaves the e-mail fields aside.
        channel = answer.json()["channel"]
        if field == ("name",):
            assert channel["name"] == payload
        gone = api.delete(f"/api/v1/alert-channels/{channel['id']}")
        assert gone.status_code == 204
        return 0
    if path == "/api/v1/reviews":
        # A campaign is kept: its name is on the review pages as stored text.
        assert field == ("name",)
        read = api.get(f"/api/v1/reviews/{answer.json()['id']}").json()
        assert read["name"] == " ".join(payload.split())
        return 0
    if path == "/api/v1/users/me/tokens":
        made = answer.json()
        assert field == ("label",)
        assert made["label"] == payload.strip()
        assert api.delete(f"/api/v1/users/me/tokens/{made['id']}").status_code == 204
        return 0
    raise AssertionError(f"unexpected 201 from {path} {field}")


def test_stored_html_is_escaped_on_every_page(site: Site) -> None:
    from tests.security.site import INTEGRATION_NAME, KEY_LABEL
    from tests.support.serving import HTML_NAMES

    stored = [
        *HTML_NAMES,
        *(n[::-1] for n in HTML_NAMES),
        INTEGRATION_NAME,
        KEY_LABEL,
        CHANNEL_NAME,
        REVIEW_NAME,
        *XSS,  # a payload stored by the body test (campaign names, reasons)
    ]
    raw = [s for s in stored if "<" in s]
    pages = [
        r for r in ROUTES if not r.api and r.method == "GET" and r.key not in PUBLIC
    ]
    seen: dict[str, str] = {}
    with (
        sign_in(site.http, site.admin) as admin,
        sign_in(site.http, site.viewer) as viewer,
    ):
        for who, client in (("admin", admin), ("viewer", viewer)):
            for route in pages:
                url = route.url(site.path_values(site.viewer))
                variants = [url]
                if route.path == "/integrations/{integration_id}":
                    variants += [
                        f"{url}?q=alert",
                        f"{url}?sort=-last_name",
                        f"{url}?status=active&sort=last_name&page=1",
                    ]
                if route.path == "/audit":
                    # every channel added, the body test's injected names too
                    variants += [
                        f"{url}?action=alert_channel.add&page={page}"
                        for page in range(1, 1 + _pages(client, "alert_channel.add"))
                    ]
                for variant in variants:
                    answer = client.get(variant)
                    assert answer.status_code in (200, 403), variant
                    if answer.headers["content-type"].startswith("text/html"):
                        seen[f"{who} {variant}"] = answer.text
            seen[f"{who} error page"] = client.get("/integrations/999999").text
    for where, html in seen.items():
        for text in raw:
            assert text not in html, (where, text)
    dashboard = seen[f"admin /integrations/{site.integration_id}"]
    for name in HTML_NAMES:
        assert str(escape(name)) in dashboard, name  # rendered, as text
    for where in ("admin /integrations", f"admin /integrations/{site.integration_id}"):
        assert str(escape(INTEGRATION_NAME)) in seen[where]
    settings = seen[f"admin /integrations/{site.integration_id}/settings"]
    assert str(escape(KEY_LABEL)) in settings
    assert str(escape(CHANNEL_NAME)) in seen["admin /settings/alerts"]
    assert str(escape(REVIEW_NAME)) in seen["admin /reviews"]
    # A review item and the audit trail show what the accounts and actions hold.
    item = f"/reviews/{site.campaign_id}/items/{site.item_id}"
    assert any(str(escape(n)) in seen[f"admin {item}"] for n in HTML_NAMES)
    added = [html for where, html in seen.items() if "alert_channel.add" in where]
    assert any(str(escape(CHANNEL_NAME)) in html for html in added)
    # The API and the CSV export give the names as they are, as data.
    with site.api(site.admin_token) as api:
        members = api.get(
            "/api/v1/members", params={"integration": site.integration_id, "limit": 500}
        )
        assert members.headers["content-type"] == "application/json"
        assert members.headers["x-content-type-options"] == "nosniff"
        firsts = {m["first_name"] for m in members.json()["items"]}
    world_firsts = {t["first_name"] for t in site.world.accounts[0].teammates}
    assert firsts - {None} == world_firsts
    export = admin_export(site)
    assert export.headers["content-type"].startswith("text/csv")
    assert export.headers["content-disposition"].startswith("attachment;")
    for name in HTML_NAMES:
        assert name in export.text
    record(
        "security_escaping",
        {
            "database": site.database,
            "pages": len(seen),
            "stored_html_strings": len(raw),
        },
    )


def _pages(client: httpx.Client, action: str) -> int:
    """How many pages the audit trail of `action` takes."""
    page = 1
    while (
        f'page={page + 1}">Next'
        in client.get("/audit", params={"action": action, "page": page}).text
    ):
        page += 1
    return page


def admin_export(site: Site) -> httpx.Response:
    with sign_in(site.http, site.admin) as admin:
        return admin.get(f"/integrations/{site.integration_id}/export/members.csv")
