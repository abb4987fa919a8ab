"""The pure rules of the key inventory and of teammate-scope turns."""

from __future__ import annotations

import datetime as dt

import pytest

from smp.model.api_keys import (
    ApiKeyRecord,
    KeySighting,
    scope_budget,
    scope_changes,
    teammate_scopes_of,
    teammates_to_read,
)
from smp.simulator import generate_world
from smp.simulator.scopes import scopes_for_kind
from smp.simulator.world import WorldError, parse_world

NOW = dt.datetime(2026, 3, 14, 9, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def _record(scopes: list[str]) -> ApiKeyRecord:
    return ApiKeyRecord("id", "name", tuple(scopes), NOW, NOW, NOW, True, None)


@pytest.mark.parametrize(
    ("kind", "full"),
    [("full", True), ("restricted", False), ("billing", False), ("validation", False)],
)
def test_full_access_follows_the_simulators_key_kinds(kind: str, full: bool) -> None:
    assert _record(scopes_for_kind(kind)).full_access is full


def test_write_scopes_are_the_changing_ones_and_mail_send() -> None:
    key = _record(
        ["2fa_required", "api_keys.read", "mail.send", "stats.read", "teammates.delete"]
    )
    assert key.write_scopes == ["mail.send", "teammates.delete"]
    assert key.full_access is False
    assert _record(scopes_for_kind("restricted")).write_scopes == []


def test_a_new_key_starts_its_history_and_only_changes_follow() -> None:
    seen = [
        KeySighting("new", "n", ("a.read", "b.read")),
        KeySighting("same", "s", ("a.read",)),
        KeySighting("narrowed", "x", ("a.read",)),
    ]
    known = {"same": ["a.read"], "narrowed": ["a.read", "a.update", "b.read"]}
    got = {c.key_id: c for c in scope_changes(known, seen)}
    assert set(got) == {"new", "narrowed"}
    assert (got["new"].change, got["new"].added) == ("first_seen", ("a.read", "b.read"))
    assert got["narrowed"].change == "changed"
    assert (got["narrowed"].added, got["narrowed"].removed) == (
        (),
        ("a.update", "b.read"),
    )


def test_teammate_flags_are_split_from_the_permissions() -> None:
    mate = teammate_scopes_of(
        "ann",
        "admin",
        ["2fa_exempt", "stats.read", "sender_verification_eligible"],
        NOW,
    )
    assert mate.scopes == ("stats.read",)
    assert (mate.two_factor_exempt, mate.two_factor_required) == (True, False)


@pytest.mark.parametrize(
    ("limit", "share", "budget"),
    [(None, 0.10, 60), (600, 0.10, 60), (150, 0.10, 15), (5, 0.10, 1), (0, 0.5, 300)],
)
def test_budget_is_a_share_of_the_reported_limit(
    limit: int | None, share: float, budget: int
) -> None:
    assert scope_budget(limit, share) == budget


def test_the_first_reading_takes_everyone_in_listing_order_up_to_the_budget() -> None:
    listed = [("b", "owner"), ("a", "teammate"), ("c", "admin")]
    assert teammates_to_read(listed, {}, 2, NOW, DAY) == ["b", "a"]
    assert teammates_to_read(listed, {}, 0, NOW, DAY) == []


def test_turns_take_role_changes_new_members_then_a_paced_rotation() -> None:
    listed = [("new1", "teammate"), ("old", "teammate"), ("older", "teammate")]
    listed += [("fresh", "teammate"), ("promoted", "admin"), ("backlog", "teammate")]

    def known(last_read_hours_ago: int) -> dict[str, tuple[str, dt.datetime]]:
        return {
            "old": ("teammate", NOW - 2 * DAY),
            "older": ("teammate", NOW - 9 * DAY),
            "fresh": ("teammate", NOW - dt.timedelta(hours=last_read_hours_ago)),
            "promoted": ("teammate", NOW - 3 * DAY),
            "gone": ("teammate", NOW - 30 * DAY),
        }

    joined = {"new1"}
    # Read an hour ago: the rotation takes ⌈6 × 1/24⌉ = 1, never-read first.
    got = teammates_to_read(listed, known(1), 10, NOW, DAY, joined)
    assert got == ["promoted", "new1", "backlog"]
    # Half a day later: ⌈6 × 12/24⌉ = 3, then the longest unread.
    got = teammates_to_read(listed, known(12), 10, NOW, DAY, joined)
    assert got == ["promoted", "new1", "backlog", "older", "old"]
    # Right after a reading: only the role change and the newcomer.
    assert teammates_to_read(listed, known(0), 10, NOW, DAY, joined) == [
        "promoted",
        "new1",
    ]
    assert teammates_to_read(listed, known(12), 1, NOW, DAY, joined) == ["promoted"]
    # No window at all: everyone not read just now is due.
    no_window = teammates_to_read(listed, known(0), 10, NOW, dt.timedelta(0), joined)
    assert no_window == ["promoted", "new1", "backlog", "older", "old", "fresh"]


def test_generated_teammates_carry_one_2fa_flag_each() -> None:
    world = generate_world(seed=3, accounts=1, teammates=12)
    flags = [
        {s for s in t["scopes"] if s.startswith("2fa_")}
        for t in world.accounts[0].teammates
    ]
    assert all(len(found) == 1 for found in flags)
    exempt = [i for i, found in enumerate(flags) if found == {"2fa_exempt"}]
    assert exempt == [4, 11]


def test_a_world_refuses_more_keys_than_sendgrid_keeps() -> None:
    world = generate_world(seed=3, accounts=1, teammates=2)
    data = world.model_dump()
    account = world.accounts[0].username
    data["keys"] += [
        {
            "account": account,
            "kind": "restricted",
            "key": f"SG.{n:022d}.{'x' * 43}",
            "key_id": f"{n:022d}",
            "name": f"extra {n}",
            "scopes": ["stats.read"],
        }
        for n in range(100)
    ]
    with pytest.raises(WorldError, match="at most 100"):
        parse_world(data)
