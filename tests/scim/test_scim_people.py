"""A SCIM client creates, updates, deactivates and deletes people on a real `smp serve`.

Each step is checked in the served database: the people row SMP keeps, and
the classification of a SendGrid teammate with the person's e-mail, which
turns `leaver` the moment the person is set `active: false`, with no sync.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_models import Error, PatchOp, Resource, SearchRequest
from sqlalchemy import Engine, select, update
from tests.support.scim import ScimServer

from smp.model.records import ListedTeammate
from smp.storage import create_integration, save_members, session_factory
from smp.storage.classifications import reclassify
from smp.storage.tables import AccountClassificationRow, PersonRow

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.fixture(scope="module")
def domain() -> str:
    """A domain of this module's own, so other SCIM tests' people never match."""
    return f"acme-{uuid.uuid4().hex[:6]}.example"


@pytest.fixture(scope="module")
def teammates(served_db: Engine, domain: str) -> int:
    """A SendGrid integration whose teammates are Dana and an external."""
    now = dt.datetime.now(dt.UTC)
    with session_factory(served_db).begin() as session:
        integration = create_integration(session, f"Acme mail {domain}", "global")
        save_members(
            session,
            integration.id,
            [
                ListedTeammate("dana", f"DANA@{domain}"),
                ListedTeammate("guest", "guest@elsewhere.example"),
            ],
            source_sa_id=None,
            now=now,
        )
    # As the sync's end does: SCIM writes reclassify accounts already classified.
    reclassify(served_db, now=now, integration_ids=[integration.id])
    return integration.id


@pytest.fixture
def client(served: ScimServer) -> Iterator[SyncSCIMClient]:
    with served.client() as opened:
        yield opened


def _model(client: SyncSCIMClient) -> type[Resource[Any]]:
    model = client.get_resource_model("User")
    assert model is not None
    return model


def _person(engine: Engine, person_id: str) -> Any:
    with engine.connect() as connection:
        return connection.execute(
            select(PersonRow).where(PersonRow.id == int(person_id))
        ).one()


def _classification(engine: Engine, integration_id: int, username: str) -> Any:
    with engine.connect() as connection:
        return connection.execute(
            select(AccountClassificationRow).where(
                AccountClassificationRow.integration_id == integration_id,
                AccountClassificationRow.username == username,
            )
        ).one()


def _dana(model: type[Resource[Any]], domain: str, manager_id: str) -> Resource[Any]:
    return model.model_validate(
        {
            "schemas": [CORE, ENTERPRISE],
            "userName": f"Dana.Scully@{domain}",
            "name": {"givenName": "Dana", "familyName": "Scully"},
            "userType": "Contractor",
            "active": True,
            "password": "never kept",
            "emails": [
                {"value": f"dana.s@home-{domain}", "type": "home"},
                {"value": f"dana@{domain}", "type": "work", "primary": True},
            ],
            ENTERPRISE: {
                "employeeNumber": "E-7",
                "department": "X-Files",
                "manager": {"value": manager_id},
            },
        }
    )


def test_a_person_pushed_over_scim_lives_and_leaves(
    client: SyncSCIMClient, served_db: Engine, teammates: int, domain: str
) -> None:
    model = _model(client)
    walter = client.create(
        model.model_validate(
            {"userName": f"skinner@{domain}", "emails": [{"value": f"ws@{domain}"}]}
        )
    )
    assert isinstance(walter, Resource)
    assert walter.id is not None
    created = client.create(_dana(model, domain, walter.id))
    assert isinstance(created, Resource)
    dana_id = created.id
    assert dana_id is not None

    row = _person(served_db, dana_id)
    assert (row.source, row.email, row.email_key) == (
        "scim",
        f"dana@{domain}",
        f"dana@{domain}",
    )
    assert row.aliases == [f"dana.s@home-{domain}"]
    assert (row.first_name, row.last_name) == ("Dana", "Scully")
    assert (row.employee_id, row.department) == ("E-7", "X-Files")
    assert row.manager_email == f"ws@{domain}"
    assert (row.type, row.status, row.terminated_at) == ("contractor", "active", None)
    assert row.scim_user_name == f"dana.scully@{domain}"
    assert "password" not in row.scim_resource
    # The teammate DANA@... is Dana: compared without case.
    account = _classification(served_db, teammates, "dana")
    assert (account.classification, account.matched_by) == ("contractor", "email")
    assert account.person_id == int(dana_id)
    guest = _classification(served_db, teammates, "guest")
    assert (guest.classification, guest.person_id) == ("external", None)

    # PUT: the whole user again, another department and no home e-mail.
    replacement = client.query(model, dana_id)
    assert isinstance(replacement, Resource)
    replacement[ENTERPRISE].department = "Basement"
    replacement.emails = [e for e in replacement.emails if e.primary]
    replaced = client.replace(replacement)
    assert isinstance(replaced, Resource)
    row = _person(served_db, dana_id)
    assert (row.department, row.aliases, row.version) == ("Basement", [], 2)
    # It reads back as written.
    read = client.query(model, dana_id)
    assert isinstance(read, Resource)
    assert read.model_dump(exclude={"meta"}) == replaced.model_dump(exclude={"meta"})

    # PATCH active false: terminated, and her teammate account is a leaver now.
    patch = PatchOp[model](  # type: ignore[valid-type]
        operations=[{"op": "replace", "path": "active", "value": False}]
    )
    client.modify(model, dana_id, patch)
    row = _person(served_db, dana_id)
    assert row.status == "terminated"
    assert row.terminated_at is not None
    account = _classification(served_db, teammates, "dana")
    assert account.classification == "leaver"
    assert account.leaver_since == row.terminated_at

    # DELETE: the person stays, gone, and SCIM no longer knows her.
    client.delete(model, dana_id)
    row = _person(served_db, dana_id)
    assert (row.status, row.scim_user_name, row.scim_resource) == ("gone", None, None)
    assert row.email == f"dana@{domain}"
    missing = client.query(model, dana_id, raise_scim_errors=False)
    assert isinstance(missing, Error)
    assert missing.status == 404
    assert _classification(served_db, teammates, "dana").classification == "leaver"


def test_entra_style_patch_deactivates(
    served: ScimServer, served_db: Engine, domain: str
) -> None:
    """Entra ID sends capitalised ops, booleans as strings, filters to create,
    and the manager as a bare id."""
    with served.http(served.scim_token) as http:
        boss = http.post(
            "Users",
            json={
                "userName": f"entra.boss@{domain}",
                "emails": [{"value": f"eb@{domain}"}],
            },
        ).json()
        made = http.post("Users", json={"userName": f"entra@{domain}"}).json()
        response = http.patch(
            f"Users/{made['id']}",
            json={
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [
                    {"op": "Replace", "path": "active", "value": "False"},
                    # No work e-mail yet: Entra expects the entry created.
                    {
                        "op": "replace",
                        "path": 'emails[type eq "work"].value',
                        "value": f"entra.work@{domain}",
                    },
                    {
                        "op": "Add",
                        "path": f"{ENTERPRISE}:manager",
                        "value": boss["id"],
                    },
                ],
            },
        )
    # No attributes asked for: 204 is allowed (RFC 7644 §3.5.2).
    assert response.status_code in (200, 204), response.text
    row = _person(served_db, made["id"])
    assert (row.status, row.email) == ("terminated", f"entra.work@{domain}")
    assert row.manager_email == f"eb@{domain}"


@pytest.mark.parametrize(
    ("written", "again"),
    [
        ("Fox.Mulder@{domain}", "fox.mulder@{upper}"),
        # Casefolded as SMP compares e-mails: ß is ss, full-width is ASCII.
        ("Strauß@{domain}", "STRAUSS@{domain}"),
        ("ｋｒｙｃｅｋ@{domain}", "Krycek@{domain}"),
    ],
)
def test_user_names_are_unique_and_found_as_smp_compares_e_mails(
    client: SyncSCIMClient, domain: str, written: str, again: str
) -> None:
    model = _model(client)
    first, second = (
        name.format(domain=domain, upper=domain.upper()) for name in (written, again)
    )
    made = client.create(model.model_validate({"userName": first}))
    assert isinstance(made, Resource)
    clash = client.create(
        model.model_validate({"userName": second}), raise_scim_errors=False
    )
    assert isinstance(clash, Error)
    assert (clash.status, clash.scim_type) == (409, "uniqueness")
    found = client.search(SearchRequest(filter=f'userName eq "{second}"'))
    assert [r.id for r in found.resources or []] == [made.id]


def test_searches_by_user_name_e_mail_and_any_filter_with_paging(
    client: SyncSCIMClient, domain: str
) -> None:
    model = _model(client)
    for index in range(5):
        client.create(
            model.model_validate(
                {
                    "userName": f"agent{index}@{domain}",
                    "title": "Agent",
                    "emails": [
                        {"value": f"agent{index}@{domain}", "primary": True},
                        {"value": f"a{index}@fbi-{domain}"},
                    ],
                }
            )
        )

    def names(filter_: str, **paging: int) -> tuple[int | None, list[str]]:
        found = client.search(SearchRequest(filter=filter_, **paging))
        return found.total_results, [r.user_name for r in found.resources or []]

    assert names(f'userName eq "AGENT3@{domain.upper()}"') == (1, [f"agent3@{domain}"])
    # An alias (not the primary e-mail) is found too.
    assert names(f'emails.value eq "A4@FBI-{domain}"') == (1, [f"agent4@{domain}"])
    assert names(f'emails.value eq "nobody@{domain}"') == (0, [])
    everyone = [f"agent{i}@{domain}" for i in range(5)]
    assert names('title eq "Agent" and userName sw "agent"') == (5, everyone)
    assert names(
        'title eq "Agent" and userName sw "agent"', start_index=2, count=2
    ) == (5, everyone[1:3])


def test_a_search_without_a_filter_is_paged_over_every_user(
    client: SyncSCIMClient, served_db: Engine, domain: str
) -> None:
    model = _model(client)
    for index in range(3):
        client.create(model.model_validate({"userName": f"page{index}@{domain}"}))
    with served_db.connect() as connection:
        names = connection.scalars(
            select(PersonRow.scim_user_name)
            .where(PersonRow.source == "scim", PersonRow.scim_user_name.is_not(None))
            .order_by(PersonRow.id)
        ).all()
    found = client.search(SearchRequest(start_index=2, count=2))
    assert found.total_results == len(names) >= 3
    assert [r.user_name for r in found.resources or []] == list(names[1:3])
    beyond = client.search(SearchRequest(start_index=len(names) + 1))
    assert (beyond.total_results, beyond.resources or []) == (len(names), [])


def test_any_update_classifies_again_what_a_failed_write_left(
    client: SyncSCIMClient, served_db: Engine, domain: str
) -> None:
    """A write commits, then its reclassification fails (a 500): the user's
    next update changes nothing matching reads, yet classifies the accounts
    again."""
    now = dt.datetime.now(dt.UTC)
    with session_factory(served_db).begin() as session:
        integration = create_integration(session, f"Retry {domain}", "global")
        save_members(
            session,
            integration.id,
            [ListedTeammate("fox", f"fox@{domain}")],
            source_sa_id=None,
            now=now,
        )
    reclassify(served_db, now=now, integration_ids=[integration.id])
    model = _model(client)
    fox = client.create(model.model_validate({"userName": f"fox@{domain}"}))
    assert isinstance(fox, Resource)
    assert fox.id is not None
    assert _classification(served_db, integration.id, "fox").classification == (
        "employee"
    )
    # What the failed reclassification leaves: the verdict from before.
    with session_factory(served_db).begin() as session:
        session.execute(
            update(AccountClassificationRow)
            .where(AccountClassificationRow.integration_id == integration.id)
            .values(classification="external", person_id=None, matched_by=None)
        )
    # The provider's next push changes only a title: matching reads the same.
    same = client.query(model, fox.id)
    assert isinstance(same, Resource)
    same.title = "Special agent"
    client.replace(same)
    assert _person(served_db, fox.id).version == 2
    account = _classification(served_db, integration.id, "fox")
    assert (account.classification, account.person_id) == ("employee", int(fox.id))
