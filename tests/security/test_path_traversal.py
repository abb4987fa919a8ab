"""Path traversal in export names and static paths, sent as raw bytes to `smp serve`.

The request lines go out verbatim (http.client, no URL normalising), so
`../` and its encodings reach the server. Nothing outside the exports'
data comes back: no database bytes, no /etc/passwd, no source file. The CLI
export of an integration named `../../…` writes only inside `--out`.
"""

from __future__ import annotations

import http.client
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from tests.security.site import Site, sign_in
from tests.support.figures import record
from tests.support.serving import SmpHome
from typer.testing import CliRunner

from smp.cli.main import app
from smp.storage import create_integration, make_engine, migrate
from smp.web.session import SESSION_COOKIE

pytestmark = pytest.mark.loopback

TRAVERSALS = (
    "../../../../../../etc/passwd",
    "..%2f..%2f..%2f..%2fetc%2fpasswd",
    "%2e%2e%2f%2e%2e%2f%2e%2e%2fsmp.db",
    "%252e%252e%252fsmp.db",
    "....//....//....//etc/passwd",
    "..\\..\\..\\smp.db",
    "members/../../../../smp.db",
    "members%00.csv",
    "/etc/passwd",
    "..;/..;/smp.db",
)
LEAKS = (b"root:x:0:0", b"SQLite format 3", b"[project]", b"def create_app")


def _raw_get(site: Site, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    port = int(site.http.url.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.putrequest("GET", path, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_traversal_in_export_and_static_paths_finds_nothing(site: Site) -> None:
    iid = site.integration_id
    with sign_in(site.http, site.admin) as browser:
        session = browser.cookies.get(SESSION_COOKIE)
    assert session
    cookie = {"Cookie": f"{SESSION_COOKIE}={session}"}
    bearer = site.bearer(site.admin_token)
    templates = (
        (f"/integrations/{iid}/export/{{}}.csv", cookie),
        (f"/integrations/{iid}/export/{{}}", cookie),
        (f"/api/v1/exports/{{}}?integration={iid}", bearer),
        ("/static/{}", {}),
        ("/static/css/{}", {}),
        ("/vendor/{}", {}),
    )
    tried = 0
    for template, headers in templates:
        for attack in TRAVERSALS:
            status, body = _raw_get(site, template.format(attack), headers)
            tried += 1
            assert status in (400, 404, 422), (template, attack, status)
            for leak in LEAKS:
                assert leak not in body, (template, attack)
    # The real export answers, so the refusals above are about the names.
    status, body = _raw_get(site, f"/integrations/{iid}/export/members.csv", cookie)
    assert status == 200
    assert body.startswith(b"id,email,")
    record("security_path_traversal", {"database": site.database, "requests": tried})


def test_cli_export_of_a_traversing_name_stays_in_its_folder(tmp_path: Path) -> None:
    name = "../../../escape ..\\..\\x"
    home = SmpHome(tmp_path / "home")
    home.folder.mkdir()
    engine = make_engine(home.url)
    migrate(engine)
    with Session(engine) as session, session.begin():
        create_integration(session, name, "global")
    engine.dispose()
    out = tmp_path / "a" / "b" / "out"
    runner = CliRunner()
    for fmt in ("csv", "json", "xlsx"):
        args = ["export", name, "--format", fmt, "--out", str(out)]
        result = runner.invoke(app, args, env=home.env)
        assert result.exit_code == 0, result.output
    written = sorted(
        p for p in tmp_path.rglob("*") if p.is_file() and home.folder not in p.parents
    )
    assert len(written) >= 3, written
    assert all(p.parent == out for p in written), written
    assert all(".." not in p.name and "\\" not in p.name for p in written)
