"""The page number in a listing's query string: only ASCII digits count, and
an absurdly large number is the last page, never a server error.

"²" passes str.isdigit() but int() refuses it; a twenty-digit number is
past any page there is.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import Engine
from tests.support.app import Server, connect_and_sync
from tests.support.web import sign_in, web_client

from smp.model.reviews import ReviewerRule
from smp.services import reviews
from smp.services.reviews import Actor
from smp.web.forms import bounded_int, page_number
from smp.web.session import Refused

pytestmark = pytest.mark.loopback

NOW = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)
ODD_PAGES = ("²", "99999999999999999999", "9" * 60, "-3", "1.5", "")


@pytest.fixture(scope="module")
def listings(server: Server, engine: Engine) -> list[str]:
    integration_id = asyncio.run(connect_and_sync(server, "Paged"))
    campaign = reviews.create_campaign(
        engine,
        name="Paged",
        integrations=["Paged"],
        due=dt.date(2027, 1, 1),
        rule=ReviewerRule.OWNER,
        actor=Actor("root", True, "test"),
        now=NOW,
    )
    return [
        "/findings",
        "/people",
        "/accounts",
        f"/integrations/{integration_id}",
        "/audit",
        f"/reviews/{campaign.id}",
    ]


@pytest.mark.parametrize("page", ODD_PAGES)
async def test_an_odd_page_number_shows_a_page(
    server: Server, listings: list[str], page: str
) -> None:
    async with web_client(server) as client:
        await sign_in(client, server.admin)
        for path in listings:
            shown = await client.get(path, params={"page": page})
            assert shown.status_code == 200, (path, shown.text[:300])
        review = await client.get(listings[-1], params={"cpage": page})
        assert review.status_code == 200


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("1", 1),
        ("0", 1),
        ("42", 42),
        (" 7 ", 7),
        ("100000", 100_000),
        ("100001", 100_000),
        ("00000000000000000003", 3),
        ("99999999999999999999", 100_000),
        ("9" * 5000, 100_000),
        ("²", 1),
        ("١٢", 1),
        ("-2", 1),
        ("+2", 1),
        ("", 1),
    ],
)
def test_page_number_reads_ascii_digits_only(text: str, number: int) -> None:
    assert page_number(text) == number


@pytest.mark.parametrize("text", ["²", "0", "721", "99999999999999999999", "-1"])
def test_bounded_int_refuses_what_is_not_a_number_in_range(text: str) -> None:
    with pytest.raises(Refused) as refused:
        bounded_int(text, "The interval in hours", 1, 720)
    assert refused.value.status == 422


def test_bounded_int_accepts_a_number_in_range() -> None:
    assert bounded_int(" 0720 ", "The interval in hours", 1, 720) == 720
