"""A real `smp serve` in a child process on a loopback port, and what it needs.

`SmpHome` holds one SMP_HOME (database, master key, admin password) and runs
`smp` commands in it; `SmpHome.serve()` starts `smp serve` and waits for
`/healthz`. `self_signed()` writes a certificate for 127.0.0.1 made with
`cryptography`, for `--ssl-certfile/--ssl-keyfile`. `html_world()` is a
simulator world whose member names are HTML.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from smp.cli.loopback import free_port
from smp.simulator import World, generate_world
from smp.simulator.world import parse_world
from smp.storage import generate_key

SMP = str(Path(sys.executable).with_name("smp"))
ADMIN_PASSWORD = "admin password for tests"

# Member names that would run script if a page did not escape them.
HTML_NAMES = (
    "<script>alert('first')</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg/onload=alert(2)>",
    "</td></tr></table><b>bold</b>",
    "<iframe src=javascript:alert(3)>",
    "&lt;already&gt; <u>u</u>",
)


def html_world(seed: int = 41) -> World:
    world = generate_world(
        seed=seed, accounts=1, teammates=10, pending=2, subusers=2, months=3
    )
    data = world.model_dump(mode="json")
    teammates = data["accounts"][0]["teammates"]
    for index, name in enumerate(HTML_NAMES):
        teammates[index + 1]["first_name"] = name
        teammates[index + 1]["last_name"] = name[::-1]
    return parse_world(data)


@dataclass(frozen=True)
class Tls:
    cert: Path
    key: Path

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))


def self_signed(folder: Path) -> Tls:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    tls = Tls(folder / "cert.pem", folder / "key.pem")
    tls.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    tls.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return tls


@dataclass
class Served:
    url: str
    process: subprocess.Popen[bytes]
    output: Path
    tls: Tls | None = None

    def client(self, **options: object) -> httpx.Client:
        verify = self.tls.context() if self.tls else True
        return httpx.Client(base_url=self.url, verify=verify, timeout=30, **options)  # type: ignore[arg-type]

    def log(self) -> str:
        return self.output.read_text(encoding="utf-8", errors="replace")


@dataclass
class SmpHome:
    folder: Path
    database_url: str | None = None
    master_key: str = field(default_factory=generate_key)
    # False: no SMP_SECRET_KEY, so `smp` makes and keeps $SMP_HOME/master.key.
    key_in_env: bool = True
    # Where `serve` logs go; None: in the folder (which must then exist).
    logs: Path | None = None

    @property
    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "SMP_HOME": str(self.folder),
            "SMP_SECRET_KEY": self.master_key,
            "SMP_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "NO_COLOR": "1",
            "COLUMNS": "200",
        }
        env.pop("SMP_DATABASE_URL", None)
        if not self.key_in_env:
            del env["SMP_SECRET_KEY"]
        if self.database_url:
            env["SMP_DATABASE_URL"] = self.database_url
        return env

    @property
    def url(self) -> str:
        return self.database_url or f"sqlite:///{self.folder / 'smp.db'}"

    def run(
        self, *args: str, extra_env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [SMP, *args],
            env={**self.env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def start(self, *args: str, tls: Tls | None = None) -> Served:
        port = free_port()
        options = ["--host", "127.0.0.1", "--port", str(port), *args]
        if tls:
            options += ["--ssl-certfile", str(tls.cert), "--ssl-keyfile", str(tls.key)]
        output = (self.logs or self.folder) / f"serve-{port}.log"
        with output.open("wb") as sink:
            process = subprocess.Popen(
                [SMP, "serve", *options],
                env=self.env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        scheme = "https" if tls else "http"
        served = Served(f"{scheme}://127.0.0.1:{port}", process, output, tls)
        _wait_healthy(served)
        return served

    @contextmanager
    def serve(self, *args: str, tls: Tls | None = None) -> Iterator[Served]:
        served = self.start(*args, tls=tls)
        try:
            yield served
        finally:
            stop(served)


def _wait_healthy(served: Served) -> None:
    deadline = time.monotonic() + 30
    with served.client() as client:
        while True:
            if served.process.poll() is not None:
                raise RuntimeError(f"smp serve exited:\n{served.log()}")
            try:
                if client.get("/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                stop(served)
                raise RuntimeError(f"smp serve did not answer:\n{served.log()}")
            time.sleep(0.05)


def stop(served: Served) -> None:
    if served.process.poll() is None:
        served.process.send_signal(signal.SIGTERM)
        try:
            served.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            served.process.kill()
            served.process.wait(timeout=5)
