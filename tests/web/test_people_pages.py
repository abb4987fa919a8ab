"""The people pages over HTTP: People, one person, Accounts, the home card, the upload.

The ground truth is the seed: the simulator's world (whose accounts SMP syncs)
and the directory file this module writes from it. Three of the first thirty
teammates are terminated, two teammates are moved to a partner's domain, the
company's domain is named, and one leaver's account is then removed from
SendGrid, 3 days 5 hours after the termination was imported. Every count below
is computed from those choices, never read back from SMP.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import re
import zoneinfo
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tests.support.app import Server, connect_and_sync, make_server, small_world
from tests.support.web import csrf_of, sign_in, web_client

from smp.model import Outcome
from smp.services import people
from smp.services.people_import import MAX_FILE_BYTES, import_people
from smp.services.users import set_time_zone
from smp.simulator import World
from smp.simulator.world import Teammate
from smp.sync.engine import run_sync

LAG = dt.timedelta(days=3, hours=5)
PARTNER = "partner.example"
ZONE = "Asia/Tokyo"
EMAILS = re.compile(r'<td data-label="E-mail"[^>]*>([^<]*)</td>')


def _world() -> World:
    world = small_world(seed=23)
    for guest in world.accounts[0].teammates[-2:]:
        guest["email"] = f"{guest['username']}@{PARTNER}"
    return world


@dataclass
class Seeded:
    srv: Server
    integration_id: int
    now: dt.datetime
    domain: str
    employees: list[Teammate]
    leavers: list[Teammate]  # terminated, still in SendGrid
    departed: Teammate  # terminated, then removed from SendGrid
    contractor: Teammate
    expected: dict[str, int]  # present accounts per classification


def _csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def _row(mate: Teammate, index: int, status: str, kind: str) -> dict[str, str]:
    return {
        "email": mate["email"],
        "employee_id": f"E{index:03}",
        "first_name": mate["first_name"],
        "last_name": mate["last_name"],
        "department": "Sales" if index % 2 else "Support",
        "status": status,
        "type": kind,
    }


@pytest.fixture(scope="module")
def srv(engine: Engine) -> Server:
    return make_server(engine, _world())


@pytest.fixture(scope="module")
def seeded(srv: Server) -> Seeded:
    engine, account = srv.setup.engine, srv.world.accounts[0]
    mates = list(account.teammates)
    domain = mates[0]["email"].split("@")[1]
    iid = asyncio.run(connect_and_sync(srv, "People"))
    now = srv.setup.context.now()
    people.add_domain(engine, domain, now=now)
    in_directory = mates[:30]
    rows = []
    for index, mate in enumerate(in_directory):
        status = "terminated" if index in (1, 2, 3) else "active"
        rows.append(
            _row(mate, index, status, "contractor" if index == 4 else "employee")
        )
    import_people(engine, _csv(rows), filename="hr.csv", now=now - LAG)
    account.teammates.remove(mates[1])
    srv.setup.sim.replace_world(srv.world)  # the simulator indexes its world
    resynced = asyncio.run(run_sync(engine, srv.setup.box, iid, srv.setup.context))
    assert resynced.outcome is Outcome.OK, resynced.to_json()
    with Session(engine) as session, session.begin():
        set_time_zone(session, srv.viewer, ZONE)
    unknown = len(mates) - len(in_directory) - 2 + len(account.pending)
    return Seeded(
        srv,
        iid,
        now,
        domain,
        employees=[m for i, m in enumerate(in_directory) if i not in (1, 2, 3, 4)],
        leavers=mates[2:4],
        departed=mates[1],
        contractor=mates[4],
        expected={
            "employee": len(in_directory) - 4,
            "contractor": 1,
            "partner": 0,
            "service": 0,
            "leaver": 2,
            "unknown_internal": unknown + len(account.subusers),
            "external": 2,
            "ambiguous": 0,
        },
    )


@asynccontextmanager
async def signed_in(srv: Server, name: str) -> AsyncIterator[httpx.AsyncClient]:
    async with web_client(srv) as client:
        answer = await sign_in(client, name)
        assert answer.status_code == 303, answer.text
        yield client


def _count(html: str, testid: str) -> int:
    found = re.search(rf'data-testid="{testid}" data-count="(\d+)"', html)
    assert found, f"no {testid} on the page"
    return int(found.group(1))


async def test_without_a_directory_the_pages_say_how_to_get_one(srv: Server) -> None:
    """Runs before the module seeds its directory (pytest keeps the file's order)."""
    assert not people.directory_summary(srv.setup.engine).has_directory
    for name in (srv.admin, srv.viewer):
        async with signed_in(srv, name) as client:
            home = (await client.get("/integrations")).text
            listed = (await client.get("/people")).text
            accounts = (await client.get("/accounts")).text
        assert 'data-testid="people-card-empty"' in home
        # No zeros shown as if they meant "no leavers".
        assert 'data-testid="card-leavers"' not in home
        assert 'data-testid="no-directory"' in listed
        assert "smp people import" in listed
        assert "SCIM" in listed
        assert 'data-testid="no-directory"' in accounts
        admin = name == srv.admin
        assert ('href="/people/import"' in listed) is admin
        assert ('href="/people/import"' in home) is admin


async def test_the_home_card_counts_leavers_externals_unknowns_and_the_lag(
    seeded: Seeded,
) -> None:
    for name in (seeded.srv.admin, seeded.srv.viewer):
        async with signed_in(seeded.srv, name) as client:
            home = (await client.get("/integrations")).text
        assert _count(home, "card-leavers") == seeded.expected["leaver"]
        assert _count(home, "card-externals") == seeded.expected["external"]
        assert _count(home, "card-unknown") == seeded.expected["unknown_internal"]
        assert 'href="/accounts?classification=leaver"' in home
        lag = re.search(r'data-testid="card-lag">(.*?)</p>', home, re.S)
        assert lag
        assert "<strong>3 days 5 hours</strong>" in lag.group(1)


async def test_people_are_searched_and_filtered_by_status(seeded: Seeded) -> None:
    srv, target = seeded.srv, seeded.employees[3]
    async with signed_in(srv, srv.viewer) as client:
        everyone = (await client.get("/people")).text
        found = (await client.get("/people", params={"q": target["last_name"]})).text
        left = (await client.get("/people", params={"status": "terminated"})).text
        refused = await client.get("/people", params={"status": "fired"})
    assert len(EMAILS.findall(everyone)) == 30
    assert 'href="/people/import"' not in everyone
    assert target["email"] in EMAILS.findall(found)
    assert all(target["last_name"] in row for row in re.findall(r"<tr>.*?</tr>", found))
    terminated = [seeded.departed, *seeded.leavers]
    assert sorted(EMAILS.findall(left)) == sorted(m["email"] for m in terminated)
    assert "3 people match" in left
    assert refused.status_code == 400
    async with signed_in(srv, srv.admin) as client:
        admin_view = (await client.get("/people")).text
    assert 'href="/people/import"' in admin_view


async def test_a_person_page_shows_their_access_and_offboarding_lag(
    seeded: Seeded,
) -> None:
    srv, departed = seeded.srv, seeded.departed
    person = people.person_detail(srv.setup.engine, departed["email"]).person
    async with signed_in(srv, srv.viewer) as client:
        page = await client.get(f"/people/{person.id}")
        missing = await client.get("/people/987654321")
    assert page.status_code == 200
    html = page.text
    assert departed["email"] in html
    assert "terminated" in html
    row = re.search(r'<tr class="removed">(.*?)</tr>', html, re.S)
    assert row, "the removed account is not listed"
    assert "3 days 5 hours" in row.group(1)
    assert "Leaver" in row.group(1)
    assert "primary e-mail" in row.group(1)
    # Leaver since: the import's time, in the viewer's zone.
    terminated = (seeded.now - LAG).astimezone(zoneinfo.ZoneInfo(ZONE))
    assert terminated.strftime("%Y-%m-%d %H:%M JST") in row.group(1)
    assert missing.status_code == 404
    assert "There is no such person" in missing.text


async def test_accounts_are_counted_and_filtered_by_classification(
    seeded: Seeded,
) -> None:
    srv = seeded.srv
    async with signed_in(srv, srv.viewer) as client:
        every = (await client.get("/accounts")).text
        leavers = (await client.get("/accounts?classification=leaver")).text
        external = await client.get(
            "/accounts",
            params={"classification": "external", "integration": seeded.integration_id},
        )
        wrong = await client.get("/accounts?classification=nobody")
        unknown_integration = await client.get("/accounts?integration=98765")
        past_any_id = await client.get(f"/accounts?integration={10**30}")
    for classification, count in seeded.expected.items():
        assert _count(every, f"count-{classification}") == count, classification
    assert sorted(EMAILS.findall(leavers)) == sorted(m["email"] for m in seeded.leavers)
    # Counted within the chosen integration too (the only one here).
    for classification, count in seeded.expected.items():
        assert _count(external.text, f"count-{classification}") == count
    guests = srv.world.accounts[0].teammates[-2:]
    assert sorted(EMAILS.findall(external.text)) == sorted(g["email"] for g in guests)
    assert "Unknown (company domain)" in every
    assert wrong.status_code == 400
    assert unknown_integration.status_code == 404
    assert past_any_id.status_code == 404


async def _upload(
    client: httpx.AsyncClient,
    data: bytes,
    *,
    filename: str = "contractors.csv",
    source: str = "",
    partial: bool = False,
) -> httpx.Response:
    csrf = csrf_of((await client.get("/people")).text)
    form = {"csrf_token": csrf, "source": source}
    if partial:
        form["partial"] = "1"
    return await client.post(
        "/people/import", data=form, files={"file": (filename, data, "text/csv")}
    )


def _new_people(seeded: Seeded, names: tuple[str, ...]) -> list[dict[str, str]]:
    return [
        {"email": f"{name}@{seeded.domain}", "status": "active", "type": "contractor"}
        for name in names
    ]


def _in_directory(seeded: Seeded, email: str) -> bool:
    found = people.list_people(seeded.srv.setup.engine, search=email)
    return any(p.email == email for p in found.items)


async def test_an_admin_uploads_a_directory_and_sees_the_report(
    seeded: Seeded,
) -> None:
    rows = _new_people(seeded, ("ada.upload", "grace.upload"))
    async with signed_in(seeded.srv, seeded.srv.admin) as client:
        form = await client.get("/people/import")
        first = await _upload(client, _csv(rows))
        again = await _upload(client, _csv(rows))
    assert form.status_code == 200
    assert "the file’s name without its extension" in form.text
    assert first.status_code == 200, first.text
    assert "Import of ‘contractors’" in first.text
    assert re.search(r'data-testid="count-imported">2<', first.text)
    assert all(_in_directory(seeded, row["email"]) for row in rows)
    # The same file again changes nothing.
    assert re.search(r'data-testid="count-unchanged">2<', again.text)
    assert re.search(r'data-testid="count-imported">0<', again.text)


async def test_a_file_with_errors_imports_nothing_unless_partial(
    seeded: Seeded,
) -> None:
    rows = _new_people(seeded, ("linus.partial", "edsger.partial"))
    rows[1]["status"] = "fired"
    async with signed_in(seeded.srv, seeded.srv.admin) as client:
        refused = await _upload(client, _csv(rows), source="partners")
        partial = await _upload(client, _csv(rows), source="partners", partial=True)
    assert refused.status_code == 422
    assert 'data-testid="nothing-imported"' in refused.text
    # Line 3: the header is line 1, the second person line 3.
    error = re.search(
        r'data-testid="import-errors".*?<tbody>(.*?)</tbody>', refused.text, re.S
    )
    assert error
    cells = re.findall(r"<td[^>]*>(.*?)</td>", error.group(1))
    assert cells[:2] == ["3", "status"]
    assert "fired" in cells[2]
    assert partial.status_code == 200
    assert re.search(r'data-testid="count-imported">1<', partial.text)
    assert 'data-testid="import-errors"' in partial.text
    assert _in_directory(seeded, rows[0]["email"])
    assert not _in_directory(seeded, rows[1]["email"])


async def test_a_viewer_can_neither_see_nor_post_the_upload(seeded: Seeded) -> None:
    rows = _new_people(seeded, ("mallory.viewer",))
    async with signed_in(seeded.srv, seeded.srv.viewer) as client:
        form = await client.get("/people/import")
        posted = await _upload(client, _csv(rows))
    assert form.status_code == 403
    assert posted.status_code == 403
    assert "Only an admin" in posted.text
    assert not _in_directory(seeded, rows[0]["email"])


async def test_an_upload_too_large_or_without_a_file_is_refused_in_words(
    seeded: Seeded,
) -> None:
    huge = b"email\n" + b"a" * MAX_FILE_BYTES
    async with signed_in(seeded.srv, seeded.srv.admin) as client:
        too_large = await _upload(client, huge)
        csrf = csrf_of((await client.get("/people")).text)
        no_file = await client.post(
            "/people/import",
            data={"csrf_token": csrf},
            files={"file": ("", b"", "application/octet-stream")},
        )
        scim = await _upload(client, _csv(_new_people(seeded, ("x",))), source="scim")
    assert too_large.status_code == 413
    assert f"{MAX_FILE_BYTES // 2**20} MB" in too_large.text
    assert 'id="file-error"' in too_large.text
    assert no_file.status_code == 422
    assert "Choose a CSV or XLSX file" in no_file.text
    assert scim.status_code == 422
    assert 'id="source-error"' in scim.text


async def test_a_database_failure_during_an_upload_is_said_and_imports_nothing(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smp.storage import StorageError
    from smp.web import pages_people

    def failing(*args: object, **kwargs: object) -> None:
        raise StorageError("database is locked")

    monkeypatch.setattr(pages_people, "import_people", failing)
    rows = _new_people(seeded, ("outage.upload",))
    async with signed_in(seeded.srv, seeded.srv.admin) as client:
        answer = await _upload(client, _csv(rows))
    assert answer.status_code == 503
    assert "Nothing was imported: the database failed (database is locked)." in (
        answer.text
    )
    assert 'id="file-error"' in answer.text
    assert not _in_directory(seeded, rows[0]["email"])


async def test_a_classification_failure_after_an_upload_says_what_was_saved(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smp.services import people_import
    from smp.storage import StorageError

    def failing(*args: object, **kwargs: object) -> None:
        raise StorageError("database is locked")

    monkeypatch.setattr(people_import, "directory_changed", failing)
    rows = _new_people(seeded, ("saved.upload",))
    async with signed_in(seeded.srv, seeded.srv.admin) as client:
        answer = await _upload(client, _csv(rows), source="saved")
    assert answer.status_code == 503
    assert "The directory saved was imported (1 new, 0 updated, 0 gone)" in (
        answer.text
    )
    assert "the next sync or import classifies them again." in answer.text
    assert "Nothing was imported" not in answer.text
    assert 'id="file-error"' in answer.text
    assert _in_directory(seeded, rows[0]["email"])
