"""Scopes → capabilities, key kind and over-privilege, per the fact sheet §2."""

from __future__ import annotations

import json

import pytest
from tests.support.fakes import (
    KEY_ID,
    Router,
    errors_response,
    json_response,
    make_client,
)

from smp.sendgrid import (
    CAPABILITY_NAMES,
    MINIMAL_READ_ONLY_SCOPES,
    KeyKind,
    classify_key,
    diagnose,
    permission_scopes,
    read_only_key_request,
    report_from_scopes,
)
from smp.sendgrid import __all__ as public_names
from smp.sendgrid.capabilities import applicable, kind_purpose, read_only_key_advice

AUTOMATIC = [
    "2fa_required",
    "sender_verification_eligible",
    "sender_verification_exempt",
]
FULL_ACCESS_LIKE = [
    f"{area}.{action}"
    for area in (
        "alerts",
        "api_keys",
        "teammates",
        "templates",
        "user.profile",
        "user.account",
        "user.username",
        "user.credits",
        "stats",
        "subusers",
        "suppression",
        "whitelabel",
        "categories",
        "asm.groups",
        "ips",
    )
    for action in ("create", "read", "update", "delete")
] + ["mail.send", "stats.global.read"]


@pytest.mark.parametrize(
    ("scopes", "expected"),
    [
        (["teammates.read"], {"members", "invites", "teammate_scopes"}),
        (["api_keys.read"], {"api_keys"}),
        (["subusers.read"], {"subusers"}),
        (["user.credits.read"], {"usage_credits"}),
        (["stats.read"], {"usage_volume"}),
        (["stats.global.read"], {"usage_volume"}),
        (["user.username.read"], set()),
        (["user.username.read", "user.account.read"], {"account_identity"}),
        (["billing.read"], {"invoices"}),
        (["validations.email.read"], {"email_validation"}),
        (AUTOMATIC, set()),
    ],
)
def test_capabilities_follow_the_scopes(scopes: list[str], expected: set[str]) -> None:
    report = report_from_scopes(KEY_ID, scopes)
    assert set(report.capabilities) == set(CAPABILITY_NAMES)
    assert {n for n, ok in report.capabilities.items() if ok} == expected
    assert set(report.missing) == set(applicable(report.kind)) - expected


def test_a_billing_key_is_advised_only_what_a_billing_key_can_hold() -> None:
    # SendGrid keeps billing scopes apart (fact sheet §2): never "add teammates.read".
    report = report_from_scopes(KEY_ID, ["billing.read"])
    assert report.kind is KeyKind.BILLING
    assert report.missing == {}
    assert report.fixes() == {}
    assert "invoices" in (kind_purpose(report.kind) or "")
    restricted = report_from_scopes(KEY_ID, ["teammates.read"])
    assert set(restricted.missing) == set(CAPABILITY_NAMES) - {
        "members",
        "invites",
        "teammate_scopes",
    }
    assert kind_purpose(restricted.kind) is None


def test_missing_names_the_scope_and_invoices_say_billing_key() -> None:
    report = report_from_scopes(KEY_ID, ["user.username.read"])
    assert report.missing["account_identity"] == ["user.account.read"]
    assert report.missing["invoices"] == ["billing.read"]
    assert (
        report.fixes()["invoices"] == "invoices need a separate key with Billing Access"
    )


@pytest.mark.parametrize(
    ("scopes", "kind"),
    [
        (["billing.read", "billing.update", *AUTOMATIC], KeyKind.BILLING),
        (
            ["validations.email.read", "validations.email.create"],
            KeyKind.EMAIL_VALIDATION,
        ),
        (["teammates.read", "stats.read"], KeyKind.RESTRICTED),
        (FULL_ACCESS_LIKE, KeyKind.FULL),
        (AUTOMATIC, KeyKind.UNKNOWN),
        ([], KeyKind.UNKNOWN),
    ],
)
def test_key_kind(scopes: list[str], kind: KeyKind) -> None:
    assert classify_key(permission_scopes(scopes)) is kind


def test_automatic_flags_are_not_permissions() -> None:
    assert permission_scopes([*AUTOMATIC, "stats.read"]) == {"stats.read"}


def test_write_scopes_warn_in_one_sentence_with_a_count() -> None:
    report = report_from_scopes(KEY_ID, FULL_ACCESS_LIKE)
    assert "mail.send" in report.write_scopes
    assert all(
        s.endswith((".create", ".update", ".delete")) or s == "mail.send"
        for s in report.write_scopes
    )
    assert len(report.write_scopes) == 15 * 3 + 1
    (warning,) = report.warnings
    assert warning.startswith("This key can change 46 things in SendGrid")
    assert warning.count(". ") == 0
    assert "{" not in warning
    advice = read_only_key_advice(report.kind)
    body = json.loads(advice.split("POST /v3/api_keys ", 1)[1])
    assert body == read_only_key_request()
    assert all(s.endswith(".read") for s in body["scopes"])
    assert "teammates-only" in advice


def test_one_write_scope_is_one_thing() -> None:
    (warning,) = report_from_scopes(KEY_ID, ["teammates.create"]).warnings
    assert "change 1 thing in" in warning


def test_a_billing_key_is_told_to_become_a_billing_read_only_key() -> None:
    # Billing scopes cannot share a key, so the general read-only body is wrong here.
    report = report_from_scopes(KEY_ID, ["billing.read", "billing.update"])
    advice = read_only_key_advice(report.kind)
    body = json.loads(advice.split("POST /v3/api_keys ", 1)[1])
    suggested = report_from_scopes(KEY_ID, body["scopes"])
    assert suggested.kind is KeyKind.BILLING
    assert suggested.write_scopes == []
    assert [c for c, ok in suggested.capabilities.items() if ok] == ["invoices"]
    assert "teammates-only" not in advice


def test_the_minimal_key_grants_every_main_capability_and_writes_nothing() -> None:
    report = report_from_scopes(KEY_ID, list(MINIMAL_READ_ONLY_SCOPES))
    lacking = {n for n, ok in report.capabilities.items() if not ok}
    assert lacking == {"invoices", "email_validation"}  # separate keys by design
    assert report.write_scopes == []
    assert report.warnings == []
    assert report.kind is KeyKind.RESTRICTED


def test_to_json_has_exactly_the_doctor_fields() -> None:
    data = report_from_scopes(KEY_ID, ["stats.read"]).to_json()
    assert set(data) == {
        "valid",
        "kind",
        "key_id",
        "account",
        "capabilities",
        "missing",
        "write_scopes",
        "warnings",
    }
    assert data["key_id"] == KEY_ID
    assert data["capabilities"]["usage_volume"] is True
    json.dumps(data)  # serialisable as is


async def test_diagnose_reads_username_and_key_name_only_when_scoped() -> None:
    router = Router(
        {
            "/v3/scopes": [
                json_response(
                    {"scopes": ["user.username.read", "api_keys.read", "stats.read"]}
                )
            ],
            "/v3/user/username": [json_response({"username": "acme", "user_id": 1})],
            f"/v3/api_keys/{KEY_ID}": [
                json_response({"api_key_id": KEY_ID, "name": "smp"})
            ],
        }
    )
    async with make_client(router) as client:
        report = await diagnose(client)
    assert (report.account, report.key_name) == ("acme", "smp")
    assert router.paths() == [
        "/v3/scopes",
        "/v3/user/username",
        f"/v3/api_keys/{KEY_ID}",
    ]

    router = Router({"/v3/scopes": [json_response({"scopes": ["stats.read"]})]})
    async with make_client(router) as client:
        report = await diagnose(client)
    assert report.account is None
    assert router.paths() == ["/v3/scopes"]


async def test_diagnose_turns_a_failing_extra_into_a_warning() -> None:
    router = Router(
        {
            "/v3/scopes": [json_response({"scopes": ["user.username.read"]})],
            "/v3/user/username": [errors_response(403, "access forbidden")],
        }
    )
    async with make_client(router) as client:
        report = await diagnose(client)
    assert report.valid is True
    assert any("could not read the account username" in w for w in report.warnings)


def test_all_is_complete() -> None:
    import smp.sendgrid as package

    exported = {
        name
        for name, value in vars(package).items()
        if not name.startswith("_")
        and getattr(value, "__module__", "").startswith("smp.sendgrid")
    }
    assert exported <= set(public_names)
    assert all(hasattr(package, name) for name in public_names)
