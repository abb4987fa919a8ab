"""CSRF, session fixation and cookie flags, against a real `smp serve` (http and https).

Every page form (from the app's routes) refuses a post without the session's
CSRF token, with a made-up one, and with another session's; the login form
refuses a token that does not match its cookie. A session id chosen before
login is never adopted. Cookies are HttpOnly and SameSite always, and Secure
over https: real TLS, or X-Forwarded-Proto from a trusted proxy (127.0.0.1).
"""

from __future__ import annotations

from http.cookies import SimpleCookie

import httpx
import pytest
from tests.security.site import Site, log_in, sign_in
from tests.support.figures import record
from tests.support.routes import PUBLIC, app_routes
from tests.support.web import csrf_of

from smp.web.session import LOGIN_CSRF_COOKIE, SESSION_COOKIE

pytestmark = pytest.mark.loopback

FORMS = [r for r in app_routes()[0] if not r.api and r.write and r.key not in PUBLIC]


def _interval(site: Site) -> object:
    with site.api(site.admin_token) as api:
        return api.get(f"/api/v1/integrations/{site.integration_id}").json()[
            "sync_interval_s"
        ]


def _cookies(answer: httpx.Response) -> dict[str, dict[str, str | bool]]:
    found: dict[str, dict[str, str | bool]] = {}
    for header in answer.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        for name, morsel in jar.items():
            found[name] = {
                k: morsel[k] for k in ("httponly", "samesite", "secure", "path")
            }
            found[name]["value"] = morsel.value
    return found


def test_every_form_refuses_a_missing_wrong_or_foreign_csrf_token(site: Site) -> None:
    assert len(FORMS) >= 7, FORMS
    interval = _interval(site)
    refused = 0
    with (
        sign_in(site.http, site.admin) as admin,
        sign_in(site.http, site.admin) as other,
    ):
        foreign = csrf_of(other.get("/integrations").text)
        mine = csrf_of(admin.get("/integrations").text)
        assert foreign != mine  # one token per session
        for route in FORMS:
            url = route.url(site.path_values(site.viewer))
            for token in ("", "forged-token", foreign, mine[:-1]):
                data = {"csrf_token": token, "hours": "7", "name": "x", "label": "x"}
                answer = admin.post(url, data=data)
                assert answer.status_code == 403, (route, token, answer.text[:200])
                assert "did not come from SMP" in answer.text
                refused += 1
        # The real token works, so the refusals above were about the token.
        answer = admin.post(
            f"/integrations/{site.integration_id}/interval",
            data={"csrf_token": mine, "hours": "7"},
        )
        assert answer.status_code == 303
        assert _interval(site) == 7 * 3600
        restore = admin.post(
            f"/integrations/{site.integration_id}/interval",
            data={"csrf_token": mine, "hours": "6"},
        )
        assert restore.status_code == 303
    assert interval in (None, 6 * 3600)
    record(
        "security_csrf",
        {"database": site.database, "forms": len(FORMS), "refused_posts": refused},
    )


def test_login_form_needs_its_own_cookie_token(site: Site) -> None:
    with site.http.client() as client:
        page = client.get("/login")
        token = csrf_of(page.text)
        assert client.cookies.get(LOGIN_CSRF_COOKIE, path="/login") == token
        data = {"username": site.admin, "password": "correct horse battery staple"}
        assert (
            client.post("/login", data={**data, "csrf_token": "x"}).status_code == 403
        )
        assert client.post("/login", data=data).status_code == 403
    with site.http.client() as stranger:
        # A token from another browser's login page is not this browser's.
        answer = stranger.post("/login", data={**data, "csrf_token": token})
        assert answer.status_code == 403
        assert SESSION_COOKIE not in _cookies(answer)


def test_session_id_is_new_on_login_and_a_planted_one_is_ignored(site: Site) -> None:
    planted = "attacker-chosen-session-id-0123456789"
    with site.http.client() as victim:
        victim.cookies.set(SESSION_COOKIE, planted, domain="127.0.0.1", path="/")
        answer = log_in(victim, site.admin)
        assert answer.status_code == 303
        issued = _cookies(answer)[SESSION_COOKIE]["value"]
        assert issued
        assert issued != planted
        again = log_in_fresh(site, site.admin)
        assert again != issued  # every login is a new session
        csrf = csrf_of(victim.get("/integrations").text)
        assert victim.post("/logout", data={"csrf_token": csrf}).status_code == 303
    with site.http.client() as attacker:
        for stale in (planted, issued):
            attacker.cookies.set(SESSION_COOKIE, stale, domain="127.0.0.1", path="/")
            answer = attacker.get("/integrations")
            assert answer.status_code == 303, stale
            assert answer.headers["location"] == "/login"


def log_in_fresh(site: Site, name: str) -> str:
    with site.http.client() as client:
        answer = log_in(client, name)
        return str(_cookies(answer)[SESSION_COOKIE]["value"])


def _flags(
    client: httpx.Client, site: Site, headers: dict[str, str]
) -> dict[str, dict[str, str | bool]]:
    page = client.get("/login", headers=headers)
    token = csrf_of(page.text)
    # Sent by hand: a client on http:// would hold back a Secure cookie, while
    # the browser behind the proxy (on https) sends it.
    answer = client.post(
        "/login",
        headers={**headers, "Cookie": f"{LOGIN_CSRF_COOKIE}={token}"},
        data={
            "username": site.admin,
            "password": "correct horse battery staple",
            "csrf_token": token,
        },
    )
    assert answer.status_code == 303, answer.text
    # The login answer sets the session and deletes the login form's cookie.
    return {**_cookies(answer), LOGIN_CSRF_COOKIE: _cookies(page)[LOGIN_CSRF_COOKIE]}


@pytest.mark.parametrize(
    ("how", "secure"),
    [
        ("http", False),
        ("https", True),
        ("forwarded-https-trusted", True),
        ("forwarded-https-untrusted", False),
    ],
)
def test_cookie_flags(site: Site, how: str, secure: bool) -> None:
    headers = {"X-Forwarded-Proto": "https"} if how.startswith("forwarded") else {}
    served = site.https if how == "https" else site.http
    # uvicorn trusts proxy headers from 127.0.0.1 only (--forwarded-allow-ips).
    source = "127.0.0.3" if how.endswith("untrusted") else "127.0.0.1"
    transport = httpx.HTTPTransport(
        local_address=source, verify=served.tls.context() if served.tls else True
    )
    with httpx.Client(base_url=served.url, transport=transport) as client:
        cookies = _flags(client, site, headers)
    session, login = cookies[SESSION_COOKIE], cookies[LOGIN_CSRF_COOKIE]
    assert session["httponly"] is True
    assert login["httponly"] is True
    assert str(session["samesite"]).lower() == "lax"
    assert str(login["samesite"]).lower() == "strict"
    assert session["path"] == "/"
    assert login["path"] == "/login"
    assert bool(session["secure"]) is secure
    assert bool(login["secure"]) is secure
