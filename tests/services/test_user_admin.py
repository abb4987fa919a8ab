"""Managing users refuses with the field and kind each entry point words its own way."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Engine

from smp.model.users import UserRole
from smp.services import user_admin
from smp.services.refusals import Refused

PASSWORD = "long enough password"


def _name(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:6]}"


def test_a_broken_rule_names_its_field(engine: Engine) -> None:
    with pytest.raises(Refused) as short:
        user_admin.add_user(engine, _name("ann"), "short", UserRole.VIEWER)
    assert (short.value.kind, short.value.field) == ("invalid", "password")
    with pytest.raises(Refused) as odd:
        user_admin.add_user(engine, "a/b", PASSWORD, UserRole.VIEWER)
    assert (odd.value.kind, odd.value.field) == ("invalid", "name")


def test_a_taken_name_is_a_conflict_about_the_name(engine: Engine) -> None:
    name = _name("Alice  Smith")
    added = user_admin.add_user(engine, f" {name} ", PASSWORD, UserRole.VIEWER)
    assert added.name == " ".join(name.split())  # as typed, spaces collapsed
    with pytest.raises(Refused) as taken:
        user_admin.add_user(engine, name.upper(), PASSWORD, UserRole.VIEWER)
    assert (taken.value.kind, taken.value.field) == ("conflict", "name")


def test_nobody_removes_themselves_however_the_name_is_typed(engine: Engine) -> None:
    name = _name("cy admin")
    user_admin.add_user(engine, name, PASSWORD, UserRole.ADMIN)
    # Another admin: so the last-admin rule is not what refuses.
    other = user_admin.add_user(engine, _name("di admin"), PASSWORD, UserRole.ADMIN)
    with pytest.raises(Refused) as self_removal:
        user_admin.remove_user(engine, f"  {name.upper()} ", by=name)
    assert self_removal.value.kind == "conflict"
    user_admin.remove_user(engine, name, by=other.name)
    with pytest.raises(Refused) as gone:
        user_admin.remove_user(engine, name)
    assert gone.value.kind == "not_found"
