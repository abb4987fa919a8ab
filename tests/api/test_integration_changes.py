"""Renaming and deleting an integration, in the API and the web UI; flash messages."""

from __future__ import annotations

import uuid

import httpx
from tests.support.app import Server
from tests.support.web import csrf_of, sign_in, web_client

from smp.web.flash import FLASH_COOKIE


async def _created(srv: Server, client: httpx.AsyncClient, name: str) -> int:
    made = await client.post(
        "/api/v1/integrations",
        headers=srv.auth(srv.admin_token),
        json={"name": name, "keys": [], "sync_interval_s": 7200},
    )
    assert made.status_code == 201, made.text
    return int(made.json()["integration"]["id"])


async def test_patch_renames_and_keeps_the_interval(
    server: Server, client: httpx.AsyncClient
) -> None:
    admin = server.auth(server.admin_token)
    suffix = uuid.uuid4().hex[:6]
    first = await _created(server, client, f"First {suffix}")
    await _created(server, client, f"Second {suffix}")
    url = f"/api/v1/integrations/{first}"
    renamed = await client.patch(url, headers=admin, json={"name": f"Renamed {suffix}"})
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["sync_interval_s"]) == (
        f"Renamed {suffix}",
        7200,
    )
    clash = await client.patch(url, headers=admin, json={"name": f"SECOND {suffix}"})
    assert clash.status_code == 409
    assert "already exists" in clash.json()["detail"]
    viewer = server.auth(server.viewer_token)
    refused = await client.patch(url, headers=viewer, json={"name": "x"})
    assert refused.status_code == 403
    assert (await client.delete(url, headers=viewer)).status_code == 403
    assert (await client.delete(url, headers=admin)).status_code == 204
    assert (await client.get(url, headers=admin)).status_code == 404
    paths = server.app.openapi()["paths"]["/api/v1/integrations/{integration_id}"]
    assert "Rename" in paths["patch"]["summary"]
    assert "Delete" in paths["delete"]["summary"]


async def test_web_rename_and_delete_say_so_once_to_this_session_only(
    server: Server, client: httpx.AsyncClient
) -> None:
    suffix = uuid.uuid4().hex[:6]
    iid = await _created(server, client, f"Web {suffix}")
    async with web_client(server) as admin, web_client(server) as viewer:
        await sign_in(admin, server.admin)
        await sign_in(viewer, server.viewer)
        page = await admin.get(f"/integrations/{iid}/settings")
        token = csrf_of(page.text)
        renamed = await admin.post(
            f"/integrations/{iid}/rename",
            data={"name": f"Moved {suffix}", "csrf_token": token},
        )
        assert renamed.status_code == 303
        stolen = renamed.cookies[FLASH_COOKIE]
        shown = await admin.get(renamed.headers["location"])
        assert f"Renamed ‘Web {suffix}’ to ‘Moved {suffix}’." in shown.text
        assert "Renamed" not in (await admin.get(f"/integrations/{iid}/settings")).text
        # Another session's flash cookie is not shown: it is signed per session.
        viewer.cookies.set(FLASH_COOKIE, stolen)
        assert "Renamed" not in (await viewer.get("/integrations")).text

        forbidden = await viewer.post(
            f"/integrations/{iid}/delete",
            data={"csrf_token": csrf_of((await viewer.get("/integrations")).text)},
        )
        assert forbidden.status_code == 403
        asked = await admin.get(f"/integrations/{iid}/delete")
        assert (
            f"Delete integration ‘Moved {suffix}’ and its 0 keys, 0 members and "
            "invites, 0 subusers, 0 invoices and 0 sync runs? This cannot be undone."
        ) in asked.text
        deleted = await admin.post(
            f"/integrations/{iid}/delete", data={"csrf_token": token}
        )
        assert deleted.headers["location"] == "/integrations"
        listing = await admin.get("/integrations")
        assert f"Deleted integration ‘Moved {suffix}’" in listing.text
        assert (await admin.get(f"/integrations/{iid}/settings")).status_code == 404
