"""What SMP reads from a SCIM user (docs/scim.md); `smp people scim-token`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from scim2_models import InvalidValueException, Resource
from typer.testing import CliRunner

from smp.cli.main import app
from smp.model.people import PersonStatus, PersonType
from smp.scim.people_mapping import fields_of, version_number
from smp.scim.provider import scim_provider, user_model

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MODEL = user_model(scim_provider())


def _user(**payload: Any) -> Resource[Any]:
    return MODEL.model_validate({"userName": "jdoe@acme.example", **payload})


def test_the_primary_e_mail_wins_and_the_others_are_aliases() -> None:
    fields = fields_of(
        _user(
            emails=[
                {"value": "home@else.example", "type": "home"},
                {"value": "J.Doe@Acme.example", "primary": True},
                {"value": "j.doe@acme.EXAMPLE", "type": "other"},
                {"value": "old@acme.example"},
            ]
        )
    )
    # scim2-models (EmailStr) lowercases the domain; the local part stays.
    assert fields.email == "J.Doe@acme.example"
    assert fields.email_key == "j.doe@acme.example"
    # The same address in another case is not an alias of itself.
    assert fields.aliases == ["home@else.example", "old@acme.example"]


def test_without_a_primary_the_first_e_mail_is_the_person_s() -> None:
    fields = fields_of(
        _user(emails=[{"value": "a@x.example"}, {"value": "b@x.example"}])
    )
    assert (fields.email, fields.aliases) == ("a@x.example", ["b@x.example"])


@pytest.mark.parametrize("user_name", ["jdoe@acme.example", "jdoe"])
def test_a_user_with_no_e_mail_is_kept_under_the_user_name(user_name: str) -> None:
    fields = fields_of(_user(userName=user_name))
    assert (fields.email, fields.aliases) == (user_name, [])


def test_names_enterprise_fields_and_the_manager_id() -> None:
    fields = fields_of(
        _user(
            name={"givenName": " Jane ", "familyName": "Doe"},
            **{
                ENTERPRISE: {
                    "employeeNumber": "0042",
                    "department": "Finance",
                    "manager": {"value": "17"},
                }
            },
        )
    )
    assert (fields.first_name, fields.last_name) == ("Jane", "Doe")
    assert (fields.employee_id, fields.department, fields.manager_id) == (
        "0042",
        "Finance",
        "17",
    )


@pytest.mark.parametrize(
    ("user_type", "expected"),
    [
        ("Contractor", PersonType.CONTRACTOR),
        ("PARTNER", PersonType.PARTNER),
        ("service", PersonType.SERVICE),
        ("Employee", PersonType.EMPLOYEE),
        ("Guest", PersonType.EMPLOYEE),
        (None, PersonType.EMPLOYEE),
    ],
)
def test_user_type_names_smp_s_type_or_else_employee(
    user_type: str | None, expected: PersonType
) -> None:
    assert fields_of(_user(userType=user_type)).type is expected


@pytest.mark.parametrize(
    ("active", "expected"),
    [
        (False, PersonStatus.TERMINATED),
        (True, PersonStatus.ACTIVE),
        (None, PersonStatus.ACTIVE),
    ],
)
def test_only_active_false_is_terminated(
    active: bool | None, expected: PersonStatus
) -> None:
    assert fields_of(_user(active=active)).status is expected


def test_the_resource_is_kept_as_written_without_its_password() -> None:
    fields = fields_of(_user(password="hunter2", title="CFO", nickName="JD"))
    assert fields.resource["title"] == "CFO"
    assert fields.resource["nickName"] == "JD"
    assert "password" not in fields.resource
    assert fields.user_name_key == "jdoe@acme.example"


def test_a_nul_character_is_refused() -> None:
    with pytest.raises(InvalidValueException):
        fields_of(_user(name={"givenName": "Ja\x00ne"}))


@pytest.mark.parametrize(
    ("tag", "number"),
    [(None, None), ('W/"3"', 3), ('"12"', 12), ('W/"x"', -1), ("", -1)],
)
def test_version_tags(tag: str | None, number: int | None) -> None:
    assert version_number(tag) == number


def test_scim_token_is_printed_once_and_stored_hashed(home: Path) -> None:
    runner = CliRunner()
    plain = runner.invoke(app, ["people", "scim-token"], env={"NO_COLOR": "1"})
    assert plain.exit_code == 0, plain.output
    token = plain.stdout.strip()
    assert token.startswith("smpscim_")
    assert "Shown once" in plain.stderr
    made = runner.invoke(app, ["people", "scim-token", "--label", "Entra ID", "--json"])
    assert made.exit_code == 0, made.output
    shown = json.loads(made.stdout)
    assert sorted(shown) == ["created_at", "id", "label", "token"]
    assert shown["label"] == "Entra ID"
    assert shown["token"] != token
    database = (home / "smp.db").read_bytes()
    assert token.encode() not in database
    assert shown["token"].encode() not in database


@pytest.mark.parametrize(
    ("label", "reason"),
    [
        ("   ", "the label is empty"),
        ("x" * 101, "longer than 100"),
        ("a\x00b", "control characters"),
    ],
)
def test_a_bad_label_is_one_line_and_exit_2(
    home: Path, label: str, reason: str
) -> None:
    result = CliRunner().invoke(
        app, ["people", "scim-token", "--label", label], env={"NO_COLOR": "1"}
    )
    assert result.exit_code == 2, result.output
    assert reason in result.stderr
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1
