"""A real `smp serve`: nobody can lock `admin` out; a new password ends access.

The server runs on a fresh SMP_HOME, where its first start created the user
`admin`. Clients come from different loopback addresses (127.0.0.x are all
this machine), so the server sees honest client addresses. uvicorn trusts
X-Forwarded-For from 127.0.0.1 only (`--forwarded-allow-ips`' default): a
proxy there speaks for its clients, and anyone else's header is ignored.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from tests.security.site import log_in
from tests.support.serving import ADMIN_PASSWORD, Served, SmpHome

from smp.storage.logins import LoginThrottle

pytestmark = pytest.mark.loopback

FREE = LoginThrottle().free_failures


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[SmpHome, Served]]:
    logs = tmp_path_factory.mktemp("logins")
    home = SmpHome(logs / "home", logs=logs)
    with home.serve("--no-scheduler") as server:
        yield home, server


def _from(server: Served, address: str, **headers: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address)
    return server.client(transport=transport, headers=headers)


def _guess_fifty_times(client: httpx.Client) -> None:
    answers = [
        log_in(client, "admin", f"wrong password {n}").status_code for n in range(50)
    ]
    # The first wait is 2 s and doubles with each checked guess: on the real
    # clock a slow machine may get a guess or two more checked, never many.
    assert answers[: FREE + 1] == [401] * FREE + [429], answers
    assert set(answers) == {401, 429}
    assert answers.count(401) <= FREE + 3, answers


def _token(home: SmpHome, name: str) -> str:
    made = home.run("users", "token", name)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def test_fifty_wrong_passwords_for_admin_do_not_stop_admin_elsewhere(
    served: tuple[SmpHome, Served],
) -> None:
    home, server = served
    with _from(server, "127.0.0.2") as stranger:
        _guess_fifty_times(stranger)
        # The stranger's address waits, whatever it sends now.
        assert log_in(stranger, "admin", ADMIN_PASSWORD).status_code == 429
    with _from(server, "127.0.0.3") as admin:
        assert log_in(admin, "admin", ADMIN_PASSWORD).status_code == 303
        assert admin.get("/integrations").status_code == 200
    # The API, with admin's token, never noticed.
    bearer = {"Authorization": f"Bearer {_token(home, 'admin')}"}
    with _from(server, "127.0.0.2", **bearer) as api:
        me = api.get("/api/v1/users/me")
    assert me.status_code == 200
    assert me.json()["name"] == "admin"


def test_behind_the_trusted_proxy_each_forwarded_client_counts_apart(
    served: tuple[SmpHome, Served],
) -> None:
    _, server = served
    with _from(server, "127.0.0.1", **{"X-Forwarded-For": "198.51.100.7"}) as one:
        _guess_fifty_times(one)
    with _from(server, "127.0.0.1", **{"X-Forwarded-For": "198.51.100.8"}) as two:
        assert log_in(two, "admin", ADMIN_PASSWORD).status_code == 303


def test_a_name_typed_with_other_capitals_or_spaces_counts_as_the_same_name(
    served: tuple[SmpHome, Served],
) -> None:
    home, server = served
    added = home.run(
        "users", "add", "Rosa Parks", extra_env={"SMP_NEW_PASSWORD": "x" * 20}
    )
    assert added.returncode == 0, added.stderr
    spellings = ["Rosa Parks", "rosa  parks", " ROSA PARKS "]
    with _from(server, "127.0.0.5") as guesser:
        answers = [
            log_in(guesser, spellings[n % 3], f"wrong {n}").status_code
            for n in range(FREE + 1)
        ]
    assert answers == [401] * FREE + [429]


def test_a_forwarded_header_from_anyone_else_is_ignored(
    served: tuple[SmpHome, Served],
) -> None:
    _, server = served
    # A new made-up origin on every try does not reset the count: the server
    # counts these under 127.0.0.4, where they really come from.
    with _from(server, "127.0.0.4") as liar:
        answers = []
        for n in range(FREE + 1):
            liar.headers["X-Forwarded-For"] = f"203.0.113.{n + 1}"
            answers.append(log_in(liar, "admin", "wrong password").status_code)
    assert answers == [401] * FREE + [429]


def test_a_new_password_ends_the_users_sessions_and_tokens(
    served: tuple[SmpHome, Served],
) -> None:
    home, server = served
    first, second = "first password of carol", "second password of carol"
    added = home.run("users", "add", "carol", extra_env={"SMP_NEW_PASSWORD": first})
    assert added.returncode == 0, added.stderr
    bearer = {"Authorization": f"Bearer {_token(home, 'carol')}"}
    admin = {"Authorization": f"Bearer {_token(home, 'admin')}"}
    with (
        _from(server, "127.0.0.6") as laptop,
        _from(server, "127.0.0.7") as phone,
        _from(server, "127.0.0.8", **bearer) as script,
    ):
        for browser in (laptop, phone):
            assert log_in(browser, "carol", first).status_code == 303
            assert browser.get("/integrations").status_code == 200
        assert script.get("/api/v1/users/me").status_code == 200
        changed = home.run(
            "users", "password", "carol", extra_env={"SMP_NEW_PASSWORD": second}
        )
        assert changed.returncode == 0, changed.stderr
        for browser in (laptop, phone):
            ended = browser.get("/integrations")
            assert ended.status_code == 303
            assert ended.headers["location"] == "/login"
        assert script.get("/api/v1/users/me").status_code == 401
    # Admin's token, made before the change, still works: only carol's went.
    with _from(server, "127.0.0.8", **admin) as api:
        assert api.get("/api/v1/users/me").status_code == 200
    with _from(server, "127.0.0.9") as browser:
        assert log_in(browser, "carol", first).status_code == 401
        assert log_in(browser, "carol", second).status_code == 303
