"""The account page: own API tokens shown once, and times in the user's own zone.

Pages show times in the signed-in user's zone, with its abbreviation.

The times are data (tokens created at chosen moments), never today's date:
a winter and a summer moment either side of New York's DST, and the last
half hour of a year, which is already the next year in Tokyo.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy.orm import Session
from tests.support.app import PASSWORD, Server
from tests.support.web import csrf_of, sign_in, web_client

from smp.model.users import UserRole
from smp.services.users import create_user
from smp.storage.users import create_api_token

UTC = dt.UTC
MOMENTS = (
    dt.datetime(2026, 12, 31, 23, 30, tzinfo=UTC),
    dt.datetime(2026, 7, 1, 12, 0, tzinfo=UTC),
    # New York springs forward at 07:00 UTC on 2026-03-08 (02:00 EST → 03:00 EDT).
    dt.datetime(2026, 3, 8, 6, 59, tzinfo=UTC),
    dt.datetime(2026, 3, 8, 7, 0, tzinfo=UTC),
)
SHOWN = {
    "UTC": (
        "2026-12-31 23:30 UTC",
        "2026-07-01 12:00 UTC",
        "2026-03-08 06:59 UTC",
        "2026-03-08 07:00 UTC",
    ),
    "America/New_York": (
        "2026-12-31 18:30 EST",
        "2026-07-01 08:00 EDT",
        "2026-03-08 01:59 EST",
        "2026-03-08 03:00 EDT",
    ),
    "Asia/Tokyo": (
        "2027-01-01 08:30 JST",
        "2026-07-01 21:00 JST",
        "2026-03-08 15:59 JST",
        "2026-03-08 16:00 JST",
    ),
}


@pytest.mark.parametrize("zone", sorted(SHOWN))
async def test_account_page_shows_times_in_the_users_zone(
    server: Server, zone: str
) -> None:
    name = f"tz-{zone.split('/')[-1].lower()}"
    with Session(server.setup.engine) as session, session.begin():
        create_user(session, name, PASSWORD, UserRole.VIEWER)
        for moment in MOMENTS:
            create_api_token(session, name, "dated", now=moment)
    async with web_client(server) as client:
        await sign_in(client, name)
        page = await client.get("/account")
        changed = await client.post(
            "/account/time-zone",
            data={"time_zone": zone, "csrf_token": csrf_of(page.text)},
        )
        assert changed.status_code == 303
        html = (await client.get("/account")).text
    assert f'data-testid="time-zone">{zone}<' in html
    for shown in SHOWN[zone]:
        assert shown in html
    others = {s for z, texts in SHOWN.items() if z != zone for s in texts}
    assert [s for s in others if s in html] == []


async def test_an_unknown_zone_is_one_line_and_changes_nothing(server: Server) -> None:
    async with web_client(server) as client:
        await sign_in(client, server.viewer)
        page = await client.get("/account")
        refused = await client.post(
            "/account/time-zone",
            data={"time_zone": "Europe/Atlantis", "csrf_token": csrf_of(page.text)},
        )
    assert refused.status_code == 422
    assert "that is not an IANA time zone name, such as Europe/Paris." in refused.text
    assert 'data-testid="time-zone">UTC<' in refused.text


async def test_a_token_is_shown_once_and_only_its_owner_revokes_it(
    server: Server,
) -> None:
    async with web_client(server) as viewer, web_client(server) as admin:
        await sign_in(viewer, server.viewer)
        await sign_in(admin, server.admin)
        page = await viewer.get("/account")
        made = await viewer.post(
            "/account/tokens",
            data={"label": "spreadsheet", "csrf_token": csrf_of(page.text)},
        )
        assert made.status_code == 201
        found = re.search(r'data-testid="new-token">(smp_[^<]+)<', made.text)
        assert found
        raw = found.group(1)
        token_id = re.search(r"New token (\d+):", made.text)
        assert token_id
        later = await viewer.get("/account")
        assert raw not in later.text
        assert "spreadsheet" in later.text
        me = await viewer.get("/api/v1/users/me", headers=server.auth(raw))
        assert me.json()["name"] == server.viewer
        admin_page = await admin.get("/account")
        theirs = await admin.post(
            f"/account/tokens/{token_id.group(1)}/revoke",
            data={"csrf_token": csrf_of(admin_page.text)},
        )
        assert theirs.status_code == 404
        revoked = await viewer.post(
            f"/account/tokens/{token_id.group(1)}/revoke",
            data={"csrf_token": csrf_of(later.text)},
        )
        assert revoked.status_code == 303
        gone = await viewer.get("/api/v1/users/me", headers=server.auth(raw))
    assert gone.status_code == 401
