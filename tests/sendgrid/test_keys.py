from __future__ import annotations

import pickle

import pytest
from tests.support.fakes import KEY_ID, RAW_KEY, SECRET

from smp.sendgrid import ApiKey, MalformedKeyError


def test_a_well_formed_key_gives_its_middle_part_as_key_id() -> None:
    key = ApiKey.parse(RAW_KEY)
    assert key.key_id == RAW_KEY.split(".")[1] == KEY_ID
    assert key.secret() == RAW_KEY
    assert not key.trimmed


def test_str_and_repr_show_only_the_key_id() -> None:
    key = ApiKey.parse(RAW_KEY)
    assert str(key) == f"SG.{KEY_ID}…"
    assert repr(key) == f"ApiKey('SG.{KEY_ID}…')"
    assert SECRET not in f"{key} {key!r} {[key]} { ({'k': key}) }"


def test_whitespace_around_the_key_is_removed_and_remembered() -> None:
    key = ApiKey.parse(f"  {RAW_KEY}\n")
    assert key.secret() == RAW_KEY
    assert key.trimmed


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        (RAW_KEY[:40] + " " + RAW_KEY[41:], "whitespace inside"),
        ("XX" + RAW_KEY[2:], "does not start with 'SG.'"),
        (RAW_KEY[:-1], "68 characters"),
        (RAW_KEY + "A", "70 characters"),
        (RAW_KEY[:30] + "!" + RAW_KEY[31:], "[A-Za-z0-9_-]"),
        ("SG." + "a" * 30 + "." + "b" * 35, "not 'SG.' + 22"),
    ],
)
def test_malformed_keys_are_refused_without_echoing_them(raw: str, reason: str) -> None:
    with pytest.raises(MalformedKeyError) as caught:
        ApiKey.parse(raw)
    message = str(caught.value)
    assert reason in message
    if raw.strip():
        assert raw.strip()[3:25] not in message
        assert SECRET[:10] not in message


def test_keys_compare_by_secret_and_cannot_be_pickled() -> None:
    assert ApiKey.parse(RAW_KEY) == ApiKey.parse(f"{RAW_KEY}\n")
    other = RAW_KEY[:-1] + ("A" if RAW_KEY[-1] != "A" else "B")
    assert ApiKey.parse(RAW_KEY) != ApiKey.parse(other)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(ApiKey.parse(RAW_KEY))
