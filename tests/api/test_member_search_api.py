"""`/members?q=`: counting stops at COUNT_LIMIT hits and says so; pages stay right."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tests.support.app import Server

from smp.model import ListedTeammate
from smp.storage import COUNT_LIMIT, create_integration, save_members


def _crowd(engine: Engine) -> int:
    """COUNT_LIMIT + 5 members that all match "crowd", one of them also "needle"."""
    with Session(engine) as session, session.begin():
        iid = create_integration(session, f"Crowd {uuid.uuid4().hex[:6]}").id
        people = [
            ListedTeammate(f"crowd{n:05d}", f"crowd{n:05d}@x.example", "Crowd", None)
            for n in range(COUNT_LIMIT + 5)
        ]
        people[1234] = ListedTeammate("crowd01234", "crowd01234@x.example", "Needle")
        now = dt.datetime.now(dt.UTC)
        save_members(session, iid, people, source_sa_id=None, now=now)
    return iid


async def test_a_common_search_has_a_bounded_total(
    engine: Engine, server: Server, client: httpx.AsyncClient
) -> None:
    iid = _crowd(engine)
    headers = server.auth(server.viewer_token)

    async def page(**params: object) -> dict:  # type: ignore[type-arg]
        answer = await client.get(
            "/api/v1/members", params={"integration": iid, **params}, headers=headers
        )
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    common = await page(q="CROWD", limit=3, offset=2, sort="-email")
    assert (common["total"], common["total_exact"]) == (COUNT_LIMIT, False)
    assert [m["username"] for m in common["items"]] == [
        f"crowd{n:05d}" for n in (COUNT_LIMIT + 2, COUNT_LIMIT + 1, COUNT_LIMIT)
    ]
    rare = await page(q="needle")
    assert (rare["total"], rare["total_exact"]) == (1, True)
    assert [m["username"] for m in rare["items"]] == ["crowd01234"]
    everyone = await page(limit=1)
    assert (everyone["total"], everyone["total_exact"]) == (COUNT_LIMIT + 5, True)


async def test_every_page_schema_has_total_exact(
    server: Server, client: httpx.AsyncClient
) -> None:
    answer = await client.get("/openapi.json", headers=server.auth(server.viewer_token))
    schemas = answer.json()["components"]["schemas"]
    pages = {
        name: s
        for name, s in schemas.items()
        if name.startswith(("Page_", "DataPage_"))
    }
    assert len(pages) >= 8, sorted(pages)
    for name, schema in pages.items():
        assert schema["properties"]["total_exact"]["type"] == "boolean", name
        assert "total_exact" in schema["required"], name
    # Collected data also says what no key can read, so empty is not "none".
    data = {name: s for name, s in pages.items() if name.startswith("DataPage_")}
    assert {
        "DataPage_MemberOut_",
        "DataPage_MemberEventOut_",
        "DataPage_SubuserOut_",
        "DataPage_InvoiceOut_",
        "DataPage_MonthlyVolumeOut_",
    } <= set(data), sorted(pages)
    assert all("unreadable" in schema["required"] for schema in data.values())
