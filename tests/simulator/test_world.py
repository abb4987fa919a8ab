"""World generation, its invariants, and world files."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from smp.simulator import World, WorldError, generate_world, load_world
from smp.simulator.scopes import BILLING_SCOPES, VALIDATION_SCOPES


def test_same_seed_same_world_and_different_seed_differs() -> None:
    assert generate_world(5).to_json() == generate_world(5).to_json()
    assert generate_world(5).to_json() != generate_world(6).to_json()


def test_round_trip_through_a_world_file(world: World, tmp_path) -> None:
    path = tmp_path / "world.json"
    path.write_text(world.to_json(), encoding="utf-8")
    assert load_world(path) == world
    assert load_world(world.to_json()) == world


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d["accounts"][0]["credits"].__setitem__("total", "many"),
         "accounts.0.credits.total"),
        (lambda d: d["accounts"][0]["teammates"][1].__setitem__("user_type", "boss"),
         "accounts.0.teammates.1.user_type"),
        (lambda d: d["keys"][0].__setitem__("key", "SG.short"), "keys.0"),
        (lambda d: d.__setitem__("today", "15/11/2026"), "today"),
        (lambda d: d["accounts"][0].pop("email"), "accounts.0.email"),
        (lambda d: d.__setitem__("invoice_format", "xml"), "invoice_format"),
    ],
)  # fmt: skip
def test_broken_world_file_names_the_field(world: World, mutate, field: str) -> None:
    data = json.loads(world.to_json())
    mutate(data)
    with pytest.raises(WorldError) as caught:
        load_world(json.dumps(data))
    assert field in str(caught.value)


def test_a_second_owner_is_refused(world: World) -> None:
    data = json.loads(world.to_json())
    data["accounts"][0]["teammates"][1]["user_type"] = "owner"
    with pytest.raises(WorldError, match="exactly one owner"):
        load_world(json.dumps(data))


def test_keys_look_real_and_follow_the_scope_rules(world: World) -> None:
    pattern = re.compile(r"^SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$")
    for key in world.keys:
        assert pattern.match(key.key)
        assert len(key.key) == 69
        assert key.key.split(".")[1] == key.key_id
        assert key.key not in repr(key)
        billing = {s for s in key.scopes if s.startswith("billing.")}
        validation = {s for s in key.scopes if s.startswith("validations.")}
        if key.kind == "billing":
            assert set(key.scopes) == set(BILLING_SCOPES)
        elif key.kind == "validation":
            assert set(key.scopes) == set(VALIDATION_SCOPES)
        else:
            assert not billing
            assert not validation
    for account in world.accounts:
        kinds = sorted(k.kind for k in world.keys if k.account == account.username)
        assert kinds == ["billing", "full", "restricted", "revoked", "validation"]
    full = next(k for k in world.keys if k.kind == "full")
    assert {"teammates.read", "teammates.create", "2fa_required"} <= set(full.scopes)
    restricted = next(k for k in world.keys if k.kind == "restricted")
    assert "teammates.read" in restricted.scopes
    assert "marketing.read" in restricted.scopes
    assert not any(s.startswith(("stats.", "subusers.")) for s in restricted.scopes)


def test_teammates_are_realistic(world: World) -> None:
    account = world.accounts[0]
    owners = [t for t in account.teammates if t["user_type"] == "owner"]
    assert len(owners) == 1
    assert owners[0]["is_admin"]
    names = [t["first_name"] + t["last_name"] for t in account.teammates]
    assert any(not n.isascii() for n in names)
    assert all(
        t["email"].isascii() and t["username"].isascii() for t in account.teammates
    )
    assert any(t["is_sso"] for t in account.teammates)
    assert len(account.teammates) == 30


def test_credits_used_is_the_requests_since_last_reset(world: World) -> None:
    for account in world.accounts:
        credits = account.credits
        since = credits["last_reset"]
        used = sum(
            d["metrics"]["requests"] for d in account.daily_stats if d["date"] >= since
        )
        assert credits["used"] == used
        assert credits["remain"] == max(0, credits["total"] - used)
        assert credits["overage"] == max(0, used - credits["total"])
        for sub in account.subusers:
            sub_used = sum(
                d["metrics"]["requests"] for d in sub.daily_stats if d["date"] >= since
            )
            assert sub.credits["used"] == sub_used


def test_stats_end_today_and_invites_expire_after_seven_days(world: World) -> None:
    account = world.accounts[0]
    assert account.daily_stats[-1]["date"] == world.today
    now = dt.datetime.fromisoformat(world.today + "T12:00:00+00:00").timestamp()
    expired = [p for p in account.pending if p["expiration_date"] < now]
    assert 0 < len(expired) < len(account.pending)
