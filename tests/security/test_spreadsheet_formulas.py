"""A teammate named `=HYPERLINK(…)` reaches every export as text, never as a formula.

SendGrid's teammate names are chosen by whoever can edit a teammate there. The
simulator's world names teammates with formula starts; a real `smp connect`
and `smp sync` read them; then `smp export` (a real process), the API's export
and the web's export, in CSV and XLSX, are read back. CSV cells that a
spreadsheet would run start with `'`; every XLSX cell, opened with openpyxl,
is a value and never a formula, and formula-looking names keep their exact
text. Expected names come from the world, neutralised by the rule written out
here, not by the code under test.
"""

from __future__ import annotations

import csv
import io
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from tests.security.site import sign_in
from tests.support.app import make_users
from tests.support.serving import Served, SmpHome
from tests.support.simulator import key_of, serve_simulator

from smp.simulator import Simulator, World, generate_world
from smp.simulator.world import parse_world
from smp.storage import make_engine, migrate

pytestmark = pytest.mark.loopback

HYPERLINK = '=HYPERLINK("http://x.example","y")'
# OWASP's CSV-injection starts: =, +, -, @, a tab, a carriage return.
LAST_NAMES = (
    "+SUM(1,2)",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
)
INTEGRATION = "Formulas"


def formula_world() -> World:
    data = generate_world(
        seed=53, accounts=1, teammates=8, pending=1, subusers=1, months=2
    ).model_dump(mode="json")
    teammates = data["accounts"][0]["teammates"]
    teammates[1]["first_name"] = HYPERLINK
    for index, name in enumerate(LAST_NAMES):
        teammates[index + 2]["last_name"] = name
    return parse_world(data)


def csv_cell(text: str) -> str:
    """What a CSV cell must hold for `text`: OWASP's leading quote where needed."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@dataclass
class Synced:
    world: World
    home: SmpHome
    served: Served
    integration_id: int
    admin: str
    admin_token: str

    def names(self) -> dict[str, tuple[str, str]]:
        """email -> (first name, last name), as SendGrid lists them."""
        return {
            t["email"]: (t["first_name"], t["last_name"])
            for t in self.world.accounts[0].teammates
        }


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synced]:
    folder = tmp_path_factory.mktemp("formulas")
    world = formula_world()
    home = SmpHome(folder / "home", logs=folder)
    with serve_simulator(Simulator(world, rate_limit=None)) as sim_url:
        key = {"SG_FULL": key_of(world, "full").key}
        connected = home.run(
            "connect", "sendgrid", INTEGRATION, "--key-env", "SG_FULL",
            "--base-url", sim_url, extra_env=key,
        )  # fmt: skip
        assert connected.returncode == 0, connected.stderr
        synced = home.run("sync", INTEGRATION)
        assert synced.returncode == 0, synced.stdout + synced.stderr
        engine = make_engine(home.url)
        migrate(engine)
        admin, _, admin_token, _ = make_users(engine)
        engine.dispose()
        with home.serve("--no-scheduler", "--sendgrid-url", sim_url) as served:
            with served.client() as client:
                found = client.get(
                    "/api/v1/integrations",
                    headers={"Authorization": f"Bearer {admin_token}"},
                ).json()["items"]
            (integration,) = found
            yield Synced(
                world, home, served, int(integration["id"]), admin, admin_token
            )


def assert_csv_neutralised(synced: Synced, text: str) -> None:
    rows = {r["email"]: r for r in csv.DictReader(io.StringIO(text, newline=""))}
    names = synced.names()
    assert set(names) <= set(rows)
    for email, (first, last) in names.items():
        assert rows[email]["first_name"] == csv_cell(first), email
        assert rows[email]["last_name"] == csv_cell(last), email
    assert rows[synced.world.accounts[0].teammates[1]["email"]]["first_name"] == (
        "'" + HYPERLINK
    )


def assert_xlsx_text(synced: Synced, data: bytes, sheet: str) -> None:
    # No formula anywhere in the file, in any sheet: not even an <f> element.
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert parts
        for part in parts:
            assert b"<f>" not in archive.read(part)
            assert b"<f " not in archive.read(part)
    book = load_workbook(io.BytesIO(data))
    cells = [cell for page in book for row in page.iter_rows() for cell in row]
    assert cells
    assert all(cell.data_type != "f" for cell in cells)
    members = book[sheet]
    header = [cell.value for cell in next(members.iter_rows(max_row=1))]
    by_email = {}
    for row in members.iter_rows(min_row=2):
        record = dict(zip(header, row, strict=True))
        by_email[record["email"].value] = record
    for email, (first, last) in synced.names().items():
        for column, name in (("first_name", first), ("last_name", last)):
            cell = by_email[email][column]
            # XML reads any line end back as "\n" (XML 1.0, section 2.11).
            expected = name.replace("\r", "\n")
            assert (cell.value, cell.data_type) == (expected, "s"), (email, column)


def test_smp_export_writes_names_as_text(synced: Synced, tmp_path: Path) -> None:
    out = tmp_path / "exports"
    out.mkdir()
    # An earlier export left readable by others is made private when replaced.
    stale = out / "formulas-members.csv"
    stale.write_text("old")
    stale.chmod(0o644)
    for fmt in ("csv", "xlsx"):
        done = synced.home.run(
            "export", INTEGRATION, "--format", fmt, "--out", str(out)
        )
        assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(stale.stat().st_mode) == 0o600
    # Bytes, decoded as they are: read_text would turn the "\r" into "\n".
    assert_csv_neutralised(synced, stale.read_bytes().decode("utf-8"))
    assert_xlsx_text(synced, (out / "formulas.xlsx").read_bytes(), "members")


def test_the_api_export_writes_names_as_text(synced: Synced) -> None:
    auth = {"Authorization": f"Bearer {synced.admin_token}"}
    with synced.served.client(headers=auth) as api:
        answers = {
            fmt: api.get(
                "/api/v1/exports/members",
                params={"integration": synced.integration_id, "format": fmt},
            )
            for fmt in ("csv", "xlsx")
        }
    check_downloads(synced, answers)


def test_the_web_export_writes_names_as_text(synced: Synced) -> None:
    iid = synced.integration_id
    with sign_in(synced.served, synced.admin) as browser:
        page = browser.get(f"/integrations/{iid}").text
        links = {
            fmt: f"/integrations/{iid}/export/members.{fmt}" for fmt in ("csv", "xlsx")
        }
        assert all(f'href="{link}"' in page for link in links.values())
        answers = {fmt: browser.get(link) for fmt, link in links.items()}
    check_downloads(synced, answers)


def check_downloads(synced: Synced, answers: dict[str, httpx.Response]) -> None:
    for fmt, answer in answers.items():
        assert answer.status_code == 200, (fmt, answer.text[:300])
        disposition = answer.headers["content-disposition"]
        assert disposition.endswith(f'members.{fmt}"'), disposition
    assert answers["csv"].headers["content-type"].startswith("text/csv")
    assert answers["xlsx"].headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert_csv_neutralised(synced, answers["csv"].text)
    assert_xlsx_text(synced, answers["xlsx"].content, "members")
