"""A directory change opens and resolves findings at once, without a sync: an
import that terminates someone, and a manual link, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from tests.support.people_rows import seed_members

from smp.services import people
from smp.services.people_import import import_people
from smp.storage.tables import FindingRow, IntegrationRow


def _leaver_findings(engine: Engine, integration: str) -> dict[str, str]:
    """subject -> status of the integration's leaver findings."""
    with Session(engine) as session:
        rows = session.execute(
            select(FindingRow.subject_key, FindingRow.status)
            .join(IntegrationRow, IntegrationRow.id == FindingRow.integration_id)
            .where(IntegrationRow.name == integration)
            .where(FindingRow.rule == "leaver_with_access")
        )
        return {row[0]: row[1] for row in rows}


def _directory(domain: str, status: str) -> bytes:
    return (
        f"email,first_name,status\nada@{domain},Ada,active\nbob@{domain},Bob,{status}\n"
    ).encode()


def _fresh() -> tuple[dt.datetime, str, str]:
    """Now, a domain and a source name of this test's own."""
    tag = uuid.uuid4().hex[:8]
    return dt.datetime.now(dt.UTC), f"{tag}.example", f"hr-{tag}"


def test_a_terminating_import_opens_a_finding_and_a_return_resolves_it(
    engine: Engine,
) -> None:
    now, domain, source = _fresh()
    name = seed_members(engine, now, [f"ada@{domain}", f"bob@{domain}"])
    import_people(
        engine, _directory(domain, "active"), filename="hr.csv", source=source, now=now
    )
    assert _leaver_findings(engine, name) == {}
    later = now + dt.timedelta(minutes=5)
    import_people(
        engine,
        _directory(domain, "terminated"),
        filename="hr.csv",
        source=source,
        now=later,
    )
    assert _leaver_findings(engine, name) == {f"bob@{domain}": "open"}
    import_people(
        engine,
        _directory(domain, "active"),
        filename="hr.csv",
        source=source,
        now=later + dt.timedelta(minutes=5),
    )
    assert _leaver_findings(engine, name) == {f"bob@{domain}": "resolved"}


def test_a_link_to_a_leaver_opens_a_finding_in_that_integration_only(
    engine: Engine,
) -> None:
    now, domain, source = _fresh()
    guest = f"guest{uuid.uuid4().hex[:6]}@elsewhere.example"
    import_people(
        engine,
        _directory(domain, "terminated"),
        filename="hr.csv",
        source=source,
        now=now,
    )
    holder = seed_members(engine, now, [guest])
    bystander = seed_members(engine, now, [f"carol@{domain}"])
    bob = people.person_detail(engine, f"bob@{domain}").person.id
    people.link_account(engine, guest, bob, actor="tests", now=now)
    assert _leaver_findings(engine, holder) == {guest: "open"}
    assert _leaver_findings(engine, bystander) == {}
    people.unlink_account(engine, guest, now=now + dt.timedelta(minutes=1))
    assert _leaver_findings(engine, holder) == {guest: "resolved"}
