"""SMP through a real proxy (tinyproxy) to the simulator served over real TLS.

The simulator listens on 127.0.0.2 and [::1] with a certificate from a private
CA (trustme). tinyproxy asks for credentials and opens its outgoing connections
from 127.0.0.3, so the simulator itself sees which requests came through the
proxy: that, not the code under test, says whether a request was proxied.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trustme
import uvicorn
from tests.support.ports import free_port
from typer.testing import CliRunner

from smp.cli.main import app
from smp.sendgrid import ApiKey, SendGridClient
from smp.simulator import SimKey, Simulator, World, generate_world
from smp.simulator.asgi import Receive, Scope, Send

SMP = str(Path(sys.executable).with_name("smp"))
TINYPROXY = shutil.which("tinyproxy") or "/usr/bin/tinyproxy"
SIM_HOST = "127.0.0.2"
PROXY_OUT = "127.0.0.3"  # tinyproxy's source address towards the simulator
USER, PASSWORD = "smp-user", "proxy-pass-7f3a"
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
UNTRUSTED = "certificate of {} not trusted; set SMP_CA_BUNDLE to your CA file"

pytestmark = pytest.mark.loopback


@dataclass
class Served:
    """The TLS simulator: its world, port, CA files and who connected to it."""

    world: World
    port: int
    ca: Path
    other_ca: Path
    clients: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"https://{SIM_HOST}:{self.port}"

    def key(self, kind: str = "full") -> SimKey:
        return next(k for k in self.world.keys if k.kind == kind)


class Recording:
    """Notes the peer address of every HTTP request before the simulator answers."""

    def __init__(self, inner: ASGIApp, clients: list[str]) -> None:
        self.inner, self.clients = inner, clients

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.clients.append(scope["client"][0])
        await self.inner(scope, receive, send)


def _two_families() -> tuple[int, list[socket.socket]]:
    """One port bound on SIM_HOST and on [::1]: a free one on both."""
    for _ in range(20):
        ipv4 = socket.socket(socket.AF_INET)
        ipv4.bind((SIM_HOST, 0))
        port = int(ipv4.getsockname()[1])
        ipv6 = socket.socket(socket.AF_INET6)
        try:
            ipv6.bind(("::1", port))
        except OSError:  # taken on [::1]: another port
            ipv4.close()
            ipv6.close()
            continue
        return port, [ipv4, ipv6]
    raise RuntimeError("no port free on both 127.0.0.2 and [::1]")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("tls")
    ca, stranger = trustme.CA(), trustme.CA()
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    stranger.cert_pem.write_to_path(str(folder / "other-ca.pem"))
    leaf = ca.issue_cert(SIM_HOST, "::1")
    leaf.private_key_and_cert_chain_pem.write_to_path(str(folder / "server.pem"))
    world = generate_world(seed=5, accounts=1, teammates=4, pending=1, subusers=1)
    port, sockets = _two_families()
    result = Served(world, port, folder / "ca.pem", folder / "other-ca.pem")
    config = uvicorn.Config(
        Recording(Simulator(world).app, result.clients),
        ssl_certfile=str(folder / "server.pem"),
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=sockets)), daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the simulator did not start"
        assert thread.is_alive(), "the simulator stopped"
        time.sleep(0.01)
    yield result
    server.should_exit = True
    thread.join(timeout=10)


@dataclass
class Proxy:
    port: int
    log: Path

    def url(self, credentials: bool = True) -> str:
        auth = f"{USER}:{PASSWORD}@" if credentials else ""
        return f"http://{auth}127.0.0.1:{self.port}"

    def tunnels(self) -> list[str]:
        """The CONNECT requests tinyproxy logged, as host:port."""
        lines = self.log.read_text().splitlines()
        return [
            line.split(": CONNECT ")[1].split()[0]
            for line in lines
            if ": CONNECT " in line
        ]


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    folder = tmp_path_factory.mktemp("proxy")
    port = free_port()
    # Its own configuration on a free port, in the foreground: never the
    # system service the Debian package sets up on 8888.
    (folder / "tinyproxy.conf").write_text(
        f"Port {port}\nListen 127.0.0.1\nBind {PROXY_OUT}\nTimeout 30\n"
        f"LogLevel Connect\nMaxClients 50\nAllow 127.0.0.1\n"
        f"BasicAuth {USER} {PASSWORD}\n"
    )
    log = folder / "tinyproxy.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [TINYPROXY, "-d", "-c", str(folder / "tinyproxy.conf")],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 10
        while True:
            assert process.poll() is None, log.read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "tinyproxy did not start"
                time.sleep(0.02)
        yield Proxy(port, log)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _env(served: Served, **extra: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.upper().endswith("_PROXY")
        and name not in ("SMP_CA_BUNDLE", "SSL_CERT_FILE")
    }
    return {**env, "SG_KEY": served.key().key, **extra}


def _smp(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    done = subprocess.run(
        [SMP, *args], env=env, capture_output=True, text=True, timeout=120
    )
    return done.returncode, done.stdout, done.stderr


def test_connect_and_a_full_sync_go_through_the_proxy(
    served: Served, proxy: Proxy, tmp_path: Path
) -> None:
    env = _env(
        served,
        SMP_HOME=str(tmp_path / "home"),
        HTTPS_PROXY=proxy.url(),
        SMP_CA_BUNDLE=str(served.ca),
    )
    env.pop("SMP_DATABASE_URL", None)
    env.pop("SMP_SECRET_KEY", None)
    before = len(served.clients)
    base = ("--key-env", "SG_KEY", "--base-url", served.url, "--json")
    code, out, err = _smp(env, "connect", "sendgrid", "Acme", *base)
    assert code == 0, err
    code, out, err = _smp(env, "sync", "--all", "--json")
    assert code == 0, err
    (run,) = json.loads(out)["runs"]
    members = run["capabilities"]["members"]
    assert (members["outcome"], run["retries"]) == ("ok", 0)
    assert members["count"] == len(served.world.accounts[0].teammates)
    seen = served.clients[before:]
    assert len(seen) > 10
    assert set(seen) == {PROXY_OUT}, "a request bypassed the proxy"
    assert set(proxy.tunnels()) == {f"{SIM_HOST}:{served.port}"}
    assert PASSWORD not in out + err


def _doctor(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], url: str
) -> tuple[int, str]:
    for name in list(os.environ):
        if name.upper().endswith("_PROXY") or name in ("SMP_CA_BUNDLE",):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(
        app, ["doctor", "--key-env", "SG_KEY", "--base-url", url]
    )
    return result.exit_code, " ".join(result.output.split())


def test_a_certificate_from_another_ca_gets_one_clear_line(
    served: Served, proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _env(served, HTTPS_PROXY=proxy.url(), SMP_CA_BUNDLE=str(served.other_ca))
    code, output = _doctor(monkeypatch, env, served.url)
    assert code == 1
    assert output == "error: " + UNTRUSTED.format(SIM_HOST)


def test_a_proxy_that_is_down_is_named_without_its_password(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = free_port()
    env = _env(
        served,
        HTTPS_PROXY=f"http://{USER}:{PASSWORD}@127.0.0.1:{dead}",
        SMP_CA_BUNDLE=str(served.ca),
    )
    started = time.monotonic()
    code, output = _doctor(monkeypatch, env, served.url)
    assert code == 1
    assert f"cannot connect to proxy http://127.0.0.1:{dead}" in output
    assert "connection refused" in output
    assert PASSWORD not in output
    assert USER not in output
    assert time.monotonic() - started < 15


def test_no_proxy_bypasses_it_and_smp_proxy_overrides_it(
    served: Served, proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    before = len(served.clients)
    env = _env(served, HTTPS_PROXY=dead, NO_PROXY=f"example.org,{SIM_HOST}")
    env["SMP_CA_BUNDLE"] = str(served.ca)
    code, output = _doctor(monkeypatch, env, served.url)
    assert code == 0, output
    assert set(served.clients[before:]) == {"127.0.0.1"}  # straight, not proxied

    before = len(served.clients)
    env = _env(served, HTTPS_PROXY=dead, SMP_PROXY=proxy.url())
    env["SMP_CA_BUNDLE"] = str(served.ca)
    code, output = _doctor(monkeypatch, env, served.url)
    assert code == 0, output  # `smp doctor` through the proxy
    assert set(served.clients[before:]) == {PROXY_OUT}
    assert PASSWORD not in output


async def test_an_ipv6_base_url_works(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.upper().endswith("_PROXY"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SMP_CA_BUNDLE", str(served.ca))
    before = len(served.clients)
    key = ApiKey.parse(served.key().key)
    async with SendGridClient(key, base_url=f"https://[::1]:{served.port}") as client:
        scopes = await client.scopes()
    assert set(scopes) == set(served.key().scopes)
    assert served.clients[before:] == ["::1"]
