"""The access review pages over HTTP: the campaigns list, a campaign's items
and decisions, bulk decisions with their confirmation, sign-off and export.

The world: the simulator's teammates are all in an imported directory, the
even ones in Marketing, the odd ones in Engineering; the first half have the
web viewer as their manager (so the manager rule makes the viewer their
reviewer), the rest a manager who is no SMP user (so the admins review them,
as they do the pending invites and subusers). What the tests expect is read
off the world and these rules, never off SMP's pages.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import io
import re
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import Engine
from tests.support.app import Server, connect_and_sync
from tests.support.directory_files import HEADER, csv_text, person
from tests.support.web import csrf_of, sign_in, web_client

from smp.model.reviews import Campaign, CampaignStatus, ReviewerRule
from smp.services import reviews
from smp.services.people import add_domain
from smp.services.people_import import import_people
from smp.services.review_pages import review_owners
from smp.services.reviews import Actor
from smp.web.pages_review_decisions import is_overdue

pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)

ROOT = Actor("root", True, "test")
NOW = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)
ITEM_ROW = re.compile(r'<tr data-item="(\d+)">')
ACCOUNT = re.compile(r'<tr data-item="(\d+)">.*?data-testid="account">([^<]*)<', re.S)


@dataclass(frozen=True)
class Reviewed:
    integration_id: int
    # Teammates' e-mails: the viewer's, the admins', by department.
    viewer_emails: frozenset[str]
    admin_emails: frozenset[str]
    marketing: frozenset[str]
    # Every account: teammates, pending invites and subusers.
    accounts: int


@asynccontextmanager
async def signed_in(srv: Server, name: str) -> AsyncIterator[httpx.AsyncClient]:
    async with web_client(srv) as client:
        answer = await sign_in(client, name)
        assert answer.status_code == 303, answer.text
        yield client


@pytest.fixture(scope="module")
def reviewed(server: Server, engine: Engine) -> Reviewed:
    iid = asyncio.run(connect_and_sync(server, "Reviewed"))
    account = server.world.accounts[0]
    mates = account.teammates
    half = len(mates) // 2
    rows = [list(HEADER)] + [
        person(
            t["email"],
            first_name=t["first_name"],
            last_name=t["last_name"],
            department="Marketing" if i % 2 == 0 else "Engineering",
            manager_email=(
                f"{server.viewer}@corp.example" if i < half else "nobody@corp.example"
            ),
            status="active",
            type="employee",
        )
        for i, t in enumerate(mates)
    ]
    report = import_people(
        engine, csv_text(rows).encode(), filename="people.csv", now=NOW
    )
    assert report.errors == ()
    # The managers' domain is the company's: only there is a manager an SMP user.
    add_domain(engine, "corp.example", now=NOW)
    emails = [t["email"] for t in mates]
    return Reviewed(
        iid,
        frozenset(emails[:half]),
        frozenset(emails[half:]),
        frozenset(e for i, e in enumerate(emails) if i % 2 == 0),
        len(mates) + len(account.pending) + len(account.subusers),
    )


def _campaign(engine: Engine, name: str) -> int:
    return reviews.create_campaign(
        engine,
        name=name,
        integrations=["Reviewed"],
        due=dt.date(2027, 1, 1),
        rule=ReviewerRule.MANAGER,
        actor=ROOT,
        now=NOW,
    ).id


def _decisions(engine: Engine, campaign_id: int) -> dict[str, str | None]:
    """Each item's decision by its account, as stored."""
    return {
        i.email or i.account_key: None if i.decision is None else i.decision.value
        for i in reviews.list_items(engine, campaign_id, ROOT)
    }


def _accounts(page: str) -> set[str]:
    return {email for _, email in ACCOUNT.findall(page)}


async def test_a_reviewer_sees_and_decides_only_their_own_items(
    server: Server, engine: Engine, reviewed: Reviewed
) -> None:
    campaign_id = _campaign(engine, "Own items")
    theirs = {
        i.email: i.id
        for i in reviews.list_items(engine, campaign_id, ROOT)
        if i.email in reviewed.admin_emails
    }
    async with signed_in(server, server.viewer) as client:
        listed = await client.get("/reviews")
        assert listed.status_code == 200, listed.text
        assert f'href="/reviews/{campaign_id}"' in listed.text
        assert "New campaign" not in listed.text
        page = await client.get(f"/reviews/{campaign_id}")
        assert page.status_code == 200, page.text
        assert _accounts(page.text) == reviewed.viewer_emails
        counted = (
            f'data-testid="items-total" data-count="{len(reviewed.viewer_emails)}"'
        )
        assert counted in page.text
        # Sign-off and export are an admin's: no such forms.
        assert "/signoff" not in page.text
        assert "/export" not in page.text
        before = _decisions(engine, campaign_id)
        other = next(iter(theirs.values()))
        shown = await client.get(f"/reviews/{campaign_id}/items/{other}")
        assert shown.status_code == 403
        assert "assigned to another reviewer" in shown.text
        decided = await client.post(
            f"/reviews/{campaign_id}/items/{other}/decide",
            data={
                "decision": "revoke",
                "role": "user",
                "reason": "not mine to decide",
                "csrf_token": csrf_of(page.text),
            },
        )
        assert decided.status_code == 403
        assert "assigned to another reviewer" in decided.text
        assert _decisions(engine, campaign_id) == before
        # Their own item: decided, and the page says so.
        [(own, email)] = ACCOUNT.findall(page.text)[:1]
        done = await client.post(
            f"/reviews/{campaign_id}/items/{own}/decide",
            data={
                "decision": "revoke",
                "role": "user",
                "reason": "left the team",
                "back": f"/reviews/{campaign_id}",
                "csrf_token": csrf_of(page.text),
            },
        )
        assert done.status_code == 303, done.text
        assert done.headers["location"] == f"/reviews/{campaign_id}"
        assert _decisions(engine, campaign_id) == {**before, email: "revoke"}
        again = await client.get(f"/reviews/{campaign_id}")
        assert f"Item {own}: revoke." in again.text
        assert "In SendGrid, open Settings → Teammates." in again.text
        # Admin pages stay closed to a reviewer.
        assert (await client.get("/reviews/new")).status_code == 403


async def test_admin_bulk_decision_changes_exactly_the_filtered_items(
    server: Server, engine: Engine, reviewed: Reviewed
) -> None:
    campaign_id = _campaign(engine, "Bulk")
    marketing = {"department": "Marketing", "f_decision": "undecided"}
    blank = {"integration": "", "classification": "", "reviewer": ""}
    async with signed_in(server, server.admin) as client:
        page = await client.get(f"/reviews/{campaign_id}")
        assert page.status_code == 200, page.text
        assert len(ITEM_ROW.findall(page.text)) == min(reviewed.accounts, 50)
        token = csrf_of(page.text)
        # Revoke without a reason: refused beside the field, nothing asked.
        refused = await client.post(
            f"/reviews/{campaign_id}/bulk",
            data={**blank, **marketing, "decision": "revoke", "role": "user"}
            | {"reason": " ", "csrf_token": token},
        )
        assert refused.status_code == 422
        assert 'id="bulk_reason-error"' in refused.text
        assert "needs a reason" in refused.text
        asked = await client.post(
            f"/reviews/{campaign_id}/bulk",
            data={**blank, **marketing, "decision": "keep", "role": "user"}
            | {"reason": "", "csrf_token": token},
        )
        assert asked.status_code == 200, asked.text
        wanted = len(reviewed.marketing)
        assert f'data-testid="confirm-count" data-count="{wanted}"' in asked.text
        assert f"{wanted} items will be decided keep" in asked.text
        assert _decisions(engine, campaign_id) == dict.fromkeys(
            _decisions(engine, campaign_id)
        )
        confirmed = await client.post(
            f"/reviews/{campaign_id}/bulk/confirm",
            data={**blank, **marketing, "decision": "keep", "role": "user"}
            | {
                "reason": "",
                "expected": str(wanted),
                "csrf_token": csrf_of(asked.text),
            },
        )
        assert confirmed.status_code == 303, confirmed.text
        landed = await client.get(confirmed.headers["location"])
        assert f"Decided {wanted} items: keep." in landed.text
    decisions = _decisions(engine, campaign_id)
    kept = {account for account, d in decisions.items() if d == "keep"}
    assert kept == reviewed.marketing
    assert sum(d is None for d in decisions.values()) == reviewed.accounts - wanted


async def test_a_bulk_decision_on_an_unknown_integration_is_refused_on_the_filter(
    server: Server, engine: Engine, reviewed: Reviewed
) -> None:
    campaign_id = _campaign(engine, "Unknown integration")
    unknown = {"integration": "999999", "classification": "", "f_decision": ""}
    unknown |= {"reviewer": "", "department": ""}
    async with signed_in(server, server.admin) as client:
        page = await client.get(f"/reviews/{campaign_id}")
        confirmed = await client.post(
            f"/reviews/{campaign_id}/bulk/confirm",
            data={**unknown, "decision": "keep", "role": "user", "reason": ""}
            | {"csrf_token": csrf_of(page.text), "expected": "1"},
        )
        assert confirmed.status_code == 422, confirmed.text
        assert "Filter: no integration &#39;999999&#39;." in confirmed.text
        assert "There is no such review campaign" not in confirmed.text
    assert set(_decisions(engine, campaign_id).values()) == {None}


async def test_a_bulk_decision_leaves_decided_items_unless_the_box_is_ticked(
    server: Server, engine: Engine, reviewed: Reviewed
) -> None:
    campaign_id = _campaign(engine, "Override")
    marketing = {"department": "Marketing", "f_decision": ""}
    blank = {"integration": "", "classification": "", "reviewer": ""}
    [revoked, *_] = sorted(reviewed.marketing)
    [item_id] = [
        i.id
        for i in reviews.list_items(engine, campaign_id, ROOT)
        if i.email == revoked
    ]
    reviews.decide(
        engine, campaign_id, ROOT, "revoke", item_ids=[item_id],
        reason="left", now=NOW,
    )  # fmt: skip
    wanted = len(reviewed.marketing) - 1
    async with signed_in(server, server.admin) as client:
        page = await client.get(f"/reviews/{campaign_id}")
        form = {**blank, **marketing, "decision": "keep", "role": "user"}
        form |= {"reason": "", "csrf_token": csrf_of(page.text)}
        asked = await client.post(f"/reviews/{campaign_id}/bulk", data=form)
        assert asked.status_code == 200, asked.text
        assert f'data-testid="confirm-count" data-count="{wanted}"' in asked.text
        assert 'data-testid="already-decided" data-count="1"' in asked.text
        assert 'name="override"' in asked.text
        form |= {"expected": str(wanted), "expected_decided": "1"}
        left = await client.post(f"/reviews/{campaign_id}/bulk/confirm", data=form)
        assert left.status_code == 303, left.text
        landed = await client.get(left.headers["location"])
        assert "1 decided already: left as they were." in landed.text
        assert "changed meanwhile" not in landed.text
        assert _decisions(engine, campaign_id)[revoked] == "revoke"
        form |= {"override": "yes", "expected": "0"}
        replaced = await client.post(f"/reviews/{campaign_id}/bulk/confirm", data=form)
        assert replaced.status_code == 303, replaced.text
        landed = await client.get(replaced.headers["location"])
        assert f"Decided {wanted + 1} items: keep." in landed.text
        assert "had a decision before: replaced." in landed.text
    decisions = _decisions(engine, campaign_id)
    assert {a for a, d in decisions.items() if d == "keep"} == reviewed.marketing


@pytest.mark.parametrize(
    "chosen",
    [
        # A reviewer typed in another case: the filter language compares
        # user name keys, so both the count and the decision find them.
        {"reviewer": "VIEWER"},
        # "(none)" is the page's word for "no department".
        {"department": "(none)"},
    ],
)
async def test_the_confirmation_counts_what_the_decision_decides(
    server: Server, engine: Engine, reviewed: Reviewed, chosen: dict[str, str]
) -> None:
    campaign_id = _campaign(engine, f"Count {sorted(chosen.items())}")
    form = {"integration": "", "classification": "", "f_decision": ""}
    form |= {"reviewer": "", "department": ""} | chosen
    form["reviewer"] = form["reviewer"].replace("VIEWER", server.viewer.upper())
    # Read off the world: the viewer manages the first half of the teammates;
    # invites and subusers have no person, hence no department.
    account = server.world.accounts[0]
    wanted = (
        len(reviewed.viewer_emails)
        if "reviewer" in chosen
        else len(account.pending) + len(account.subusers)
    )
    async with signed_in(server, server.admin) as client:
        page = await client.get(f"/reviews/{campaign_id}")
        form |= {"decision": "keep", "role": "user", "reason": ""}
        form |= {"csrf_token": csrf_of(page.text)}
        asked = await client.post(f"/reviews/{campaign_id}/bulk", data=form)
        assert asked.status_code == 200, asked.text
        assert f'data-testid="confirm-count" data-count="{wanted}"' in asked.text
        form |= {"expected": str(wanted)}
        confirmed = await client.post(f"/reviews/{campaign_id}/bulk/confirm", data=form)
        assert confirmed.status_code == 303, confirmed.text
        landed = await client.get(confirmed.headers["location"])
        assert f"Decided {wanted} items: keep." in landed.text
        assert "changed meanwhile" not in landed.text
    kept = [d for d in _decisions(engine, campaign_id).values() if d == "keep"]
    assert len(kept) == wanted


async def test_sign_off_is_refused_while_items_are_undecided(
    server: Server, engine: Engine, reviewed: Reviewed
) -> None:
    campaign_id = _campaign(engine, "Sign-off")
    async with signed_in(server, server.admin) as client:
        page = await client.get(f"/reviews/{campaign_id}")
        refused = await client.post(
            f"/reviews/{campaign_id}/signoff", data={"csrf_token": csrf_of(page.text)}
        )
        assert refused.status_code == 409
        assert 'id="signoff-error"' in refused.text
        assert f"has {reviewed.accounts} undecided items" in refused.text
        no_token = await client.post(f"/reviews/{campaign_id}/signoff")
        assert no_token.status_code == 403
    async with signed_in(server, server.viewer) as client:
        page = await client.get(f"/reviews/{campaign_id}")
        forbidden = await client.post(
            f"/reviews/{campaign_id}/signoff", data={"csrf_token": csrf_of(page.text)}
        )
        assert forbidden.status_code == 403
    found = reviews.campaign_detail(engine, campaign_id, ROOT)
    assert (found.status.value, found.decided) == ("open", 0)


async def test_a_closed_campaign_refuses_decisions(
    server: Server, engine: Engine, reviewed: Reviewed
) -> None:
    campaign_id = _campaign(engine, "Closed")
    everything = {"integration": "", "classification": "", "f_decision": ""}
    everything |= {"reviewer": "", "department": ""}
    async with signed_in(server, server.admin) as client:
        page = await client.get(f"/reviews/{campaign_id}")
        token = csrf_of(page.text)
        asked = await client.post(
            f"/reviews/{campaign_id}/bulk",
            data={**everything, "decision": "keep", "role": "user", "reason": ""}
            | {"csrf_token": token},
        )
        assert f'data-count="{reviewed.accounts}"' in asked.text
        confirmed = await client.post(
            f"/reviews/{campaign_id}/bulk/confirm",
            data={**everything, "decision": "keep", "role": "user", "reason": ""}
            | {"csrf_token": token, "expected": str(reviewed.accounts)},
        )
        assert confirmed.status_code == 303, confirmed.text
        signed = await client.post(
            f"/reviews/{campaign_id}/signoff", data={"csrf_token": token}
        )
        assert signed.status_code == 303, signed.text
        closed = await client.get(f"/reviews/{campaign_id}")
        assert "signed off" in closed.text
        assert "/decide" not in closed.text
        assert "/bulk" not in closed.text
        before = _decisions(engine, campaign_id)
        [item_id] = ITEM_ROW.findall(closed.text)[:1]
        refused = await client.post(
            f"/reviews/{campaign_id}/items/{item_id}/decide",
            data={"decision": "revoke", "role": "user", "reason": "too late"}
            | {"csrf_token": token},
        )
        assert refused.status_code == 409
        assert "is closed (signed off): its decisions are final" in refused.text
        bulk = await client.post(
            f"/reviews/{campaign_id}/bulk/confirm",
            data={**everything, "decision": "revoke", "role": "user"}
            | {"reason": "too late", "csrf_token": token},
        )
        assert bulk.status_code == 409
        assert "its decisions are final" in bulk.text
    assert _decisions(engine, campaign_id) == before
    assert set(before.values()) == {"keep"}


async def test_new_campaign_form_and_its_refusals(
    server: Server, engine: Engine, reviewed: Reviewed
) -> None:
    async with signed_in(server, server.admin) as client:
        form = await client.get("/reviews/new")
        assert form.status_code == 200, form.text
        token = csrf_of(form.text)
        empty = await client.post(
            "/reviews/new",
            data={"name": " ", "integrations": [str(reviewed.integration_id)]}
            | {"due": "", "reviewer_rule": "owner", "csrf_token": token},
        )
        assert empty.status_code == 422
        assert 'id="name-error"' in empty.text
        none = await client.post(
            "/reviews/new",
            data={"name": "Q1", "due": "", "reviewer_rule": "owner"}
            | {"csrf_token": token},
        )
        assert none.status_code == 422
        assert 'id="integrations-error"' in none.text
        bad_due = await client.post(
            "/reviews/new",
            data={"name": "Q1", "integrations": [str(reviewed.integration_id)]}
            | {"due": "31/01/2027", "reviewer_rule": "owner", "csrf_token": token},
        )
        assert bad_due.status_code == 422
        assert 'id="due-error"' in bad_due.text
        assert all(c.name != "Q1" for c in reviews.list_campaigns(engine, ROOT))
        made = await client.post(
            "/reviews/new",
            data={"name": "Q1", "integrations": [str(reviewed.integration_id)]}
            | {"due": "2027-01-31", "reviewer_rule": "owner", "csrf_token": token},
        )
        assert made.status_code == 303, made.text
        landed = await client.get(made.headers["location"])
        assert f"{reviewed.accounts} accounts frozen for review" in landed.text
        named = await client.post(
            "/reviews/owners",
            data={"integration": str(reviewed.integration_id), "user": server.viewer}
            | {"csrf_token": token},
        )
        assert named.status_code == 303, named.text
        assert review_owners(engine)[reviewed.integration_id] == server.viewer
        unknown = await client.post(
            "/reviews/owners",
            data={"integration": str(reviewed.integration_id), "user": "nobody"}
            | {"csrf_token": token},
        )
        assert unknown.status_code == 404
        assert f'id="owner-{reviewed.integration_id}-error"' in unknown.text
        assert review_owners(engine)[reviewed.integration_id] == server.viewer
        cleared = await client.post(
            "/reviews/owners",
            data={"integration": str(reviewed.integration_id), "user": ""}
            | {"csrf_token": token},
        )
        assert cleared.status_code == 303, cleared.text
        assert review_owners(engine)[reviewed.integration_id] is None
        taken = await client.post(
            "/reviews/new",
            data={"name": "q1", "integrations": [str(reviewed.integration_id)]}
            | {"due": "", "reviewer_rule": "owner", "csrf_token": token},
        )
        assert taken.status_code == 409
        assert 'id="name-error"' in taken.text


async def test_export_downloads_the_evidence_pack(
    server: Server, engine: Engine, reviewed: Reviewed
) -> None:
    campaign_id = _campaign(engine, "Export")
    async with signed_in(server, server.admin) as client:
        page = await client.get(f"/reviews/{campaign_id}")
        answer = await client.post(
            f"/reviews/{campaign_id}/export", data={"csrf_token": csrf_of(page.text)}
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/zip"
        assert (
            f"review-{campaign_id}-draft.zip" in answer.headers["content-disposition"]
        )
    with zipfile.ZipFile(io.BytesIO(answer.content)) as pack:
        names = sorted(pack.namelist())
    folder = f"review-{campaign_id}"
    assert names == [
        f"{folder}/{n}"
        for n in ("campaign.json", "manifest.json", "report.html", "reviews.xlsx")
    ]
    async with signed_in(server, server.viewer) as client:
        page = await client.get("/reviews")
        refused = await client.post(
            f"/reviews/{campaign_id}/export", data={"csrf_token": csrf_of(page.text)}
        )
        assert refused.status_code == 403


@pytest.mark.parametrize(
    ("due", "today", "late"),
    [
        (dt.date(2026, 12, 31), dt.date(2026, 12, 31), False),
        (dt.date(2026, 12, 31), dt.date(2027, 1, 1), True),
        (dt.date(2027, 2, 28), dt.date(2027, 3, 1), True),
        (dt.date(2027, 3, 1), dt.date(2027, 2, 28), False),
    ],
)
def test_a_campaign_is_overdue_the_day_after_its_due_date(
    engine: Engine, due: dt.date, today: dt.date, late: bool
) -> None:
    open_one = Campaign(
        1,
        "Q",
        CampaignStatus.OPEN,
        (1,),
        due,
        ReviewerRule.OWNER,
        None,
        NOW,
        None,
        None,
        "0" * 64,
    )
    assert is_overdue(open_one, today) is late
    # A signed-off campaign is never late.
    closed = dataclasses.replace(open_one, status=CampaignStatus.CLOSED)
    assert is_overdue(closed, today) is False


async def test_the_list_marks_overdue_campaigns(
    server: Server, engine: Engine, reviewed: Reviewed
) -> None:
    today = server.setup.context.now().date()
    late, on_time = (
        reviews.create_campaign(
            engine,
            name=name,
            integrations=["Reviewed"],
            due=due,
            rule=ReviewerRule.OWNER,
            actor=ROOT,
            now=NOW,
        ).id
        for name, due in (
            ("Late", today - dt.timedelta(days=1)),
            ("On time", today),
        )
    )
    async with signed_in(server, server.admin) as client:
        listed = (await client.get("/reviews")).text
    rows = dict(re.findall(r'<tr data-campaign="(\d+)">(.*?)</tr>', listed, re.S))
    assert "overdue" in rows[str(late)]
    assert "overdue" not in rows[str(on_time)]
    assert f"0 of {reviewed.accounts} items decided" in rows[str(late)]
