"""The bulk filter language and the decision rules, without storage."""

from __future__ import annotations

import pytest

from smp.model.reviews import Condition, ReviewRuleError, check_decision, parse_filter


def test_conditions_joined_by_and() -> None:
    assert parse_filter(
        'classification=employee and department="Customer Success" AND role!=admin'
    ) == (
        Condition("classification", False, "employee"),
        Condition("department", False, "Customer Success"),
        Condition("role", True, "admin"),
    )
    assert parse_filter("decision=none") == (Condition("decision", False, None),)
    assert parse_filter("department='none'") == (
        Condition("department", False, "none"),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "filter: empty"),
        ("colour=red", "filter: unknown field 'colour'"),
        ("role=root", "filter: role is one of owner, admin, user or none, not 'root'"),
        ("role=admin or role=user", "filter: expected 'and' before 'or role=user'"),
        ("role admin", "filter: expected FIELD=VALUE or FIELD!=VALUE at 'role admin'"),
    ],
)
def test_bad_filters_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ReviewRuleError, match="^" + message.replace("(", r"\(")):
        parse_filter(text)


def test_decision_rules() -> None:
    assert check_decision("keep").reason is None
    assert check_decision(
        "modify", new_role="User", reason=" fewer rights "
    ).reason == ("fewer rights")
    for decision, role, reason, message in [
        ("revoke", None, None, "a revoke decision needs a reason"),
        ("modify", None, "x", "a modify decision needs the new role"),
        ("modify", "root", "x", "unknown role 'root'"),
        ("keep", "admin", None, "a new role is only given with a modify decision"),
        ("delete", None, None, "unknown decision 'delete'"),
    ]:
        with pytest.raises(ReviewRuleError, match=message):
            check_decision(decision, new_role=role, reason=reason)
