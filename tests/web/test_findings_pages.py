"""The findings pages over HTTP: the filtered list, one finding, accept and snooze,
and the posture score on the integration cards.

The ground truth is tests/support/finding_rows.py: one integration whose rows
produce exactly `EXPECTED` (5 high, 2 medium, 3 low findings, by the rules'
severities), and posture scores written here by hand.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy import Engine, event, update
from sqlalchemy.orm import Session
from tests.support.app import Server
from tests.support.finding_rows import EXPECTED, SeededFindings, seed_findings_world
from tests.support.web import csrf_of, sign_in, web_client

from smp.model.findings import Severity
from smp.storage import create_integration
from smp.storage.findings import evaluate_findings
from smp.storage.tables import AccountClassificationRow, PostureScoreRow
from smp.web import pages_findings

# Pages over one database; storage runs on both in tests/findings.
pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)

# A fixed instant, the server's clock too: late on a year's last day, so a
# snooze of ten days ends in the next year.
NOW = dt.datetime(2026, 12, 31, 22, 30, tzinfo=dt.UTC)
SUBJECT = re.compile(r'<td data-label="Subject" data-testid="subject">([^<]*)</td>')
ROW = re.compile(r'<tr data-finding="(\d+)">.*?data-testid="subject">([^<]*)<', re.S)
DECISION_FORM = re.compile(r'<form method="post" action="/findings/\d+/')
# Severities of the seeded findings' rules (docs/findings.md's table).
HIGH = {
    "bob@acme.test",
    "len@acme.test",
    "eve@evil.test",
    "own@evil.test",
}
LOW = {"old@acme.test", "edge@acme.test", "idle"}


@asynccontextmanager
async def signed_in(srv: Server, name: str) -> AsyncIterator[httpx.AsyncClient]:
    async with web_client(srv) as client:
        answer = await sign_in(client, name)
        assert answer.status_code == 303, answer.text
        yield client


@pytest.fixture(autouse=True)
def server_clock(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pages' "now" (today's date for a snooze, sessions) is NOW."""
    monkeypatch.setattr(server.setup.context, "now", lambda: NOW)


@pytest.fixture(scope="module")
def seeded(server: Server, engine: Engine) -> SeededFindings:
    del server  # made first: the database is the server's
    world = seed_findings_world(engine, NOW)
    evaluate_findings(engine, now=NOW, integration_ids=[world.integration_id])
    return world


def _subjects(page: str) -> list[str]:
    return [html.unescape(s) for s in SUBJECT.findall(page)]


def _count(page: str, severity: str) -> int:
    found = re.search(rf'data-testid="count-{severity}" data-count="(\d+)"', page)
    assert found, f"no count of {severity} findings"
    return int(found.group(1))


async def _id_of(client: httpx.AsyncClient, seeded: SeededFindings, who: str) -> int:
    listed = await client.get(
        "/findings", params={"integration": seeded.integration_id, "status": "any"}
    )
    ids = {html.unescape(subject): int(i) for i, subject in ROW.findall(listed.text)}
    return ids[who]


async def test_filters_give_exactly_the_expected_rows(
    server: Server, seeded: SeededFindings
) -> None:
    mine = {"integration": seeded.integration_id}
    async with signed_in(server, server.viewer) as client:
        everything = await client.get("/findings", params=mine)
        assert everything.status_code == 200, everything.text
        # Open by default; the credits and key findings' subjects are labels.
        assert len(_subjects(everything.text)) == len(EXPECTED)
        assert set(_subjects(everything.text)) >= HIGH | LOW
        assert "10 findings" in everything.text
        assert [_count(everything.text, s) for s in ("high", "medium", "low")] == [
            5,
            2,
            3,
        ]
        low = await client.get("/findings", params={**mine, "severity": "low"})
        assert sorted(_subjects(low.text)) == sorted(LOW)
        # The counts stay those of every severity under the other filters.
        assert _count(low.text, "high") == 5
        high = await client.get("/findings", params={**mine, "severity": "high"})
        assert set(_subjects(high.text)) >= HIGH
        assert len(_subjects(high.text)) == 5
        invite = await client.get(
            "/findings", params={**mine, "rule": "external_invite"}
        )
        assert _subjects(invite.text) == ["inv@evil.test"]
        assert [_count(invite.text, s) for s in ("high", "medium", "low")] == [0, 1, 0]
        leavers = await client.get(
            "/findings", params={**mine, "rule": "leaver_with_access"}
        )
        assert sorted(_subjects(leavers.text)) == ["bob@acme.test", "len@acme.test"]
        resolved = await client.get("/findings", params={**mine, "status": "resolved"})
        assert _subjects(resolved.text) == []
        assert 'data-testid="no-findings"' in resolved.text
        # Each row links to its finding.
        [(finding_id, _)] = ROW.findall(invite.text)
        assert f'href="/findings/{finding_id}"' in invite.text


@pytest.mark.parametrize(
    "params",
    [
        {"severity": "urgent"},
        {"status": "done"},
        {"rule": "no_such_rule"},
        {"integration": "abc"},
    ],
)
async def test_bad_filters_are_refused_in_words(
    server: Server, params: dict[str, str]
) -> None:
    async with signed_in(server, server.viewer) as client:
        answer = await client.get("/findings", params=params)
    assert answer.status_code == 400
    assert "does not exist" in answer.text or "Choose the integration" in answer.text


async def test_unknown_finding_and_integration_are_not_found(server: Server) -> None:
    async with signed_in(server, server.viewer) as client:
        assert (await client.get("/findings/2147483647")).status_code == 404
        gone = await client.get("/findings", params={"integration": "2147483647"})
        assert gone.status_code == 404


async def test_detail_shows_evidence_fix_and_history(
    server: Server, seeded: SeededFindings
) -> None:
    async with signed_in(server, server.viewer) as client:
        finding_id = await _id_of(client, seeded, "bob@acme.test")
        page = await client.get(f"/findings/{finding_id}")
    assert page.status_code == 200, page.text
    text = page.text
    evidence = re.search(
        r'<dl class="facts" data-testid="evidence">(.*?)</dl>', text, re.S
    )
    assert evidence
    pairs = re.findall(r"<dt>([^<]*)</dt><dd>([^<]*)</dd>", evidence.group(1))
    # The seed's row for bob, shown as words, not as JSON.
    assert dict(pairs) == {
        "Kind": "teammate",
        "Email": "bob@acme.test",
        "Role": "user",
        "Classification": "leaver",
        "Leaver since": NOW.isoformat(),
    }
    assert "<li>In SendGrid, open Settings → Teammates.</li>" in text
    assert "SMP (evaluation)" in text
    assert not DECISION_FORM.search(text), "a viewer sees no decision form"


async def test_a_viewer_cannot_decide(server: Server, seeded: SeededFindings) -> None:
    async with signed_in(server, server.viewer) as client:
        finding_id = await _id_of(client, seeded, "eve@evil.test")
        page = await client.get(f"/findings/{finding_id}")
        refused = await client.post(
            f"/findings/{finding_id}/accept",
            data={"reason": "fine", "csrf_token": csrf_of(page.text)},
        )
        assert refused.status_code == 403
        again = await client.get(f"/findings/{finding_id}")
    assert 'data-testid="finding-status">open<' in again.text


async def test_an_admin_accepts_with_a_reason(
    server: Server, seeded: SeededFindings
) -> None:
    async with signed_in(server, server.admin) as client:
        finding_id = await _id_of(client, seeded, "bob@acme.test")
        page = await client.get(f"/findings/{finding_id}")
        assert DECISION_FORM.search(page.text)
        token = csrf_of(page.text)
        blank = await client.post(
            f"/findings/{finding_id}/accept", data={"reason": "  ", "csrf_token": token}
        )
        assert blank.status_code == 422
        assert (
            'id="accept_reason-error" role="alert">A reason is required' in blank.text
        )
        forged = await client.post(
            f"/findings/{finding_id}/accept", data={"reason": "x", "csrf_token": "no"}
        )
        assert forged.status_code == 403
        still = await client.get(f"/findings/{finding_id}")
        assert 'data-testid="finding-status">open<' in still.text
        accepted = await client.post(
            f"/findings/{finding_id}/accept",
            data={"reason": "Hands over on Friday", "csrf_token": token},
        )
        assert accepted.status_code == 303
        assert accepted.headers["location"] == f"/findings/{finding_id}"
        shown = await client.get(f"/findings/{finding_id}")
        open_now = await client.get(
            "/findings", params={"integration": seeded.integration_id}
        )
        accepted_list = await client.get(
            "/findings",
            params={"integration": seeded.integration_id, "status": "accepted"},
        )
    assert f"Accepted finding {finding_id}." in shown.text
    assert (
        f'data-testid="finding-status">accepted <span class="muted">by {server.admin}'
        in shown.text
    )
    rows = re.findall(
        r'<td data-label="What">([^<]*)</td>\s*<td data-label="Who">([^<]*)</td>\s*'
        r'<td data-label="Why">([^<]*)</td>',
        shown.text,
    )
    assert rows == [
        ("opened", "SMP (evaluation)", ""),
        ("accepted", server.admin, "Hands over on Friday"),
    ]
    assert "bob@acme.test" not in _subjects(open_now.text)
    assert _subjects(accepted_list.text) == ["bob@acme.test"]


async def test_an_admin_snoozes_until_a_date(
    server: Server, seeded: SeededFindings
) -> None:
    today = NOW.date()
    later = today + dt.timedelta(days=10)
    async with signed_in(server, server.admin) as client:
        finding_id = await _id_of(client, seeded, "len@acme.test")
        path = f"/findings/{finding_id}/snooze"
        token = csrf_of((await client.get(f"/findings/{finding_id}")).text)
        for until, reason, field, words in (
            ("31/01/2027", "later", "until", "Give the date as YYYY-MM-DD"),
            (today.isoformat(), "later", "until", f"The snooze date {today} is not"),
            (
                (today + dt.timedelta(days=400)).isoformat(),
                "x",
                "until",
                "A snooze lasts",
            ),
            (later.isoformat(), "", "snooze_reason", "A reason is required"),
        ):
            refused = await client.post(
                path, data={"until": until, "reason": reason, "csrf_token": token}
            )
            assert refused.status_code == 422, until
            assert f'id="{field}-error" role="alert">{words}' in refused.text
            # What was typed stays in the form.
            assert f'value="{until}"' in refused.text
        unchanged = await client.get(f"/findings/{finding_id}")
        assert 'data-testid="finding-status">open<' in unchanged.text
        snoozed = await client.post(
            path,
            data={
                "until": later.isoformat(),
                "reason": "Contract ends",
                "csrf_token": token,
            },
        )
        assert snoozed.status_code == 303
        shown = await client.get(f"/findings/{finding_id}")
    assert f"Snoozed finding {finding_id} until {later.isoformat()}." in shown.text
    assert 'data-testid="finding-status">snoozed' in shown.text
    assert f"snoozed until {later.isoformat()} 00:00 UTC" in shown.text
    assert f">{server.admin}</td>" in shown.text
    assert ">Contract ends</td>" in shown.text


async def test_a_resolved_finding_offers_no_decision(
    server: Server, engine: Engine
) -> None:
    """The invite to an external address is withdrawn: its finding resolves."""
    world = seed_findings_world(engine, NOW)
    evaluate_findings(engine, now=NOW, integration_ids=[world.integration_id])
    async with signed_in(server, server.admin) as client:
        finding_id = await _id_of(client, world, "inv@evil.test")
        token = csrf_of((await client.get(f"/findings/{finding_id}")).text)
        with Session(engine) as session, session.begin():
            session.execute(
                update(AccountClassificationRow)
                .where(AccountClassificationRow.integration_id == world.integration_id)
                .where(AccountClassificationRow.email == "inv@evil.test")
                .values(present=False)
            )
        later = NOW + dt.timedelta(minutes=1)
        evaluate_findings(engine, now=later, integration_ids=[world.integration_id])
        page = await client.get(f"/findings/{finding_id}")
        refused = await client.post(
            f"/findings/{finding_id}/accept", data={"reason": "x", "csrf_token": token}
        )
    assert 'data-testid="finding-status">resolved' in page.text
    assert not DECISION_FORM.search(page.text)
    assert refused.status_code == 409
    assert "is resolved" in refused.text


async def test_cards_show_the_posture_score_and_trend(
    server: Server, engine: Engine, seeded: SeededFindings
) -> None:
    start = dt.datetime(2026, 12, 30, 6, tzinfo=dt.UTC)  # across a year's end
    scored = [(0, 70, 1), (1, 62, 1), (3, 85, 0)]
    with Session(engine) as session, session.begin():
        trend = create_integration(session, "Posture trend").id
        bare = create_integration(session, "Never evaluated").id
        # Hourly for two days: the card draws the newest 30 (TREND_POINTS).
        busy = create_integration(session, "Posture busy").id
        rows = [(trend, start + dt.timedelta(days=d), s, h) for d, s, h in scored]
        rows += [(busy, start + dt.timedelta(hours=n), n, 0) for n in range(48)]
        for integration_id, evaluated_at, score, high in rows:
            session.add(
                PostureScoreRow(
                    integration_id=integration_id,
                    evaluated_at=evaluated_at,
                    score=score,
                    high=high,
                    medium=0,
                    low=0,
                )
            )
    statements: list[str] = []

    def seen(*args: object) -> None:
        statement = args[2]
        assert isinstance(statement, str)
        if "posture_scores" in statement:
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        async with signed_in(server, server.viewer) as client:
            page = await client.get("/integrations")
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert page.status_code == 200
    # Every card's trend from one query, not one (or two) per integration.
    assert len(statements) == 1
    assert "Score over the last 30 evaluations" in page.text
    cards = {
        int(i): body
        for i, body in re.findall(
            r'<section class="card" aria-labelledby="int-(\d+)">(.*?)</section>',
            page.text,
            re.S,
        )
    }
    assert 'data-testid="posture-score">85</span>/100' in cards[trend]
    assert 'data-testid="posture-trend">↑ 15 since 2026-12-30 06:00 UTC' in cards[trend]
    assert "Score over the last 3 evaluations" in cards[trend]
    assert f'href="/findings?integration={trend}"' in cards[trend]
    assert "Posture score: not evaluated yet." in cards[bare]
    assert 'data-testid="posture-score">47</span>/100' in cards[busy]
    assert "Score over the last 30 evaluations" in cards[busy]
    assert 'data-testid="posture-trend">↑ 29 since 2026-12-31 00:00 UTC' in cards[busy]
    # The seed's ten open findings: 100 − 5×20 − 2×8 − 3×2, floored at 0.
    assert 'data-testid="posture-score">0</span>/100' in cards[seeded.integration_id]


async def test_the_cards_explain_the_score_with_the_models_weights(
    server: Server, seeded: SeededFindings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The words come from the weights the score is counted with, so they
    cannot drift apart."""
    async with signed_in(server, server.viewer) as client:
        page = await client.get("/integrations")
        assert (
            "100 minus 20 per open high finding, 8 per medium and 2 per low; "
            "accepted and snoozed findings do not count." in page.text
        )
        changed = {Severity.HIGH: 25, Severity.MEDIUM: 9, Severity.LOW: 1}
        monkeypatch.setattr(pages_findings, "SCORE_WEIGHTS", changed)
        again = await client.get("/integrations")
    assert "100 minus 25 per open high finding, 9 per medium and 1 per low" in (
        again.text
    )
