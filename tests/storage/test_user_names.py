"""User names are people's names: spaces and any script, found again however typed."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from smp.model.users import UserRole, UserRuleError, clean_user_name
from smp.services.users import create_user
from smp.storage.users import find_login

PASSWORD = "long enough password"


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("Alice Smith", "Alice Smith"),
        ("  Zoë   Ångström ", "Zoë Ångström"),
        ("李小龍", "李小龍"),
        ("Ольга", "Ольга"),
        ("O'Brien-Smith", "O'Brien-Smith"),
        ("ops_bot.2", "ops_bot.2"),
    ],
)
def test_names_of_people_are_kept_as_typed(typed: str, kept: str) -> None:
    assert clean_user_name(typed) == kept


@pytest.mark.parametrize(
    "typed", ["", "   ", "a/b", "<b>x</b>", "nul\x00char", "x" * 65, "İ" * 33]
)
def test_markup_paths_control_characters_and_long_names_are_refused(
    typed: str,
) -> None:
    with pytest.raises(UserRuleError, match="letters, digits, spaces"):
        clean_user_name(typed)


def test_a_spaced_name_signs_in_however_it_is_spaced_or_cased(engine: Engine) -> None:
    name = f"Alice Smith {uuid.uuid4().hex[:6]}"
    with Session(engine) as session, session.begin():
        create_user(session, name, PASSWORD, UserRole.VIEWER)
    with Session(engine) as session:
        found = find_login(session, "  " + name.upper().replace(" ", "   "))
    assert found is not None
    assert found.user.name == name
