"""What other users of the machine can reach: SMP_HOME's files, exports, the port.

Real `smp` processes on a fresh SMP_HOME that they create themselves, with the
master key in its file: the folder is 0700; the database, its WAL and shared
memory files (stat'ed while `smp serve` holds them open), the master key and
every export are 0600. A home that others can read is used, with a warning.
`smp serve` warns when it listens beyond loopback without TLS.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from tests.security.site import log_in
from tests.support.serving import ADMIN_PASSWORD, Served, SmpHome, self_signed

from smp.storage import create_integration, make_engine

pytestmark = pytest.mark.loopback

PLAIN_HTTP_WARNING = "warning: serving plain http on"
EVERY_ADDRESS = "0.0.0.0"


@dataclass
class Fresh:
    home: SmpHome
    served: Served
    logs: Path


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fresh]:
    logs = tmp_path_factory.mktemp("private")
    home = SmpHome(logs / "home", key_in_env=False, logs=logs)
    assert not home.folder.exists()
    with home.serve("--no-scheduler") as served:
        yield Fresh(home, served, logs)


def test_a_fresh_home_and_its_files_are_the_users_alone(fresh: Fresh) -> None:
    # A sign-in writes, so the server holds the database open in WAL mode.
    with fresh.served.client() as client:
        assert log_in(client, "admin", ADMIN_PASSWORD).status_code == 303
    folder = fresh.home.folder
    expected = {"smp.db", "smp.db-wal", "smp.db-shm", "master.key"}
    found = {p.name: _mode(p) for p in folder.iterdir()}
    assert expected <= set(found), found
    assert _mode(folder) == 0o700
    assert found == dict.fromkeys(found, 0o600), {k: oct(v) for k, v in found.items()}
    assert PLAIN_HTTP_WARNING not in fresh.served.log()


def test_exports_are_written_private(fresh: Fresh, tmp_path: Path) -> None:
    engine = make_engine(fresh.home.url)
    with Session(engine) as session, session.begin():
        create_integration(session, "Private export", "global")
    engine.dispose()
    out = tmp_path / "exports"
    for fmt in ("csv", "json", "xlsx"):
        done = fresh.home.run(
            "export", "Private export", "--format", fmt, "--out", str(out)
        )
        assert done.returncode == 0, done.stderr
    written = sorted(out.iterdir())
    assert {p.suffix for p in written} == {".csv", ".json", ".xlsx"}
    assert {p.name: oct(_mode(p)) for p in written} == {
        p.name: oct(0o600) for p in written
    }


def test_a_home_others_can_read_is_used_with_a_warning(tmp_path: Path) -> None:
    home = SmpHome(tmp_path / "shared")
    home.folder.mkdir(mode=0o755)
    home.folder.chmod(0o755)
    listed = home.run("users", "list")
    assert listed.returncode == 0, listed.stderr
    warning = listed.stderr.replace("\n", " ")
    assert f"warning: SMP_HOME {home.folder} is open to other users (mode 0755)" in (
        warning
    )
    assert _mode(home.folder) == 0o755  # warned about, not changed
    assert _mode(home.folder / "smp.db") == 0o600
    home.folder.chmod(0o700)
    quiet = home.run("users", "list")
    assert quiet.returncode == 0
    assert "warning" not in quiet.stderr


def test_serve_warns_when_it_listens_beyond_loopback_without_tls(
    fresh: Fresh,
) -> None:
    with fresh.home.serve("--no-scheduler", "--host", EVERY_ADDRESS) as everywhere:
        log = everywhere.log().replace("\n", " ")
        with everywhere.client() as client:
            assert client.get("/healthz").status_code == 200
    assert f"{PLAIN_HTTP_WARNING} {EVERY_ADDRESS}" in log
    assert "--ssl-certfile" in log
    tls = self_signed(fresh.logs)
    options = ("--no-scheduler", "--host", EVERY_ADDRESS)
    with fresh.home.serve(*options, tls=tls) as secure:
        with secure.client() as client:
            assert client.get("/healthz").status_code == 200
        assert PLAIN_HTTP_WARNING not in secure.log()
    # The module's server, on 127.0.0.1 over plain http, did not warn.
    assert PLAIN_HTTP_WARNING not in fresh.served.log()
