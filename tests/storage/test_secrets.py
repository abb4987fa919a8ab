"""Secrets at rest: key file, wrong key, rotation, no plaintext in the database file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import Engine

from smp.model import KeyKind, KeyStatus
from smp.storage import (
    MasterKeyError,
    SecretBox,
    add_service_account,
    check_master_key,
    create_integration,
    generate_key,
    get_service_account,
    make_engine,
    migrate,
    rotate_master_key,
    session_factory,
)

SECRET = "SG.abcdefghijklmnopqrstuv.ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq"


@pytest.fixture(autouse=True)
def _no_env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMP_SECRET_KEY", raising=False)


def _store(engine: Engine, box: SecretBox) -> int:
    with session_factory(engine).begin() as session:
        integration = create_integration(session, "Secrets")
        return add_service_account(
            session,
            integration.id,
            label="main",
            kind=KeyKind.FULL,
            scopes=[],
            capabilities=[],
            missing={},
            key_id="abcdefghijklmnopqrstuv",
            encrypted_secret=box.encrypt(SECRET),
            status=KeyStatus.OK,
        ).id


def test_key_file_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    box = SecretBox.load(tmp_path)
    key_file = tmp_path / "master.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    token = box.encrypt(SECRET)
    assert SecretBox.load(tmp_path).decrypt(token) == SECRET
    assert repr(box) == "SecretBox(<master key hidden>)"
    assert key_file.read_text() not in repr(box)


def test_env_key_wins_and_bad_keys_get_clear_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = generate_key()
    monkeypatch.setenv("SMP_SECRET_KEY", key)
    token = SecretBox.load(tmp_path).encrypt(SECRET)
    assert not (tmp_path / "master.key").exists()
    assert SecretBox.from_key(key).decrypt(token) == SECRET
    monkeypatch.setenv("SMP_SECRET_KEY", "not-a-key")
    with pytest.raises(
        MasterKeyError, match="SMP_SECRET_KEY is not a valid master key"
    ):
        SecretBox.load(tmp_path)


def test_wrong_master_key_is_a_clear_error(tmp_path: Path) -> None:
    token = SecretBox.from_key(generate_key()).encrypt(SECRET)
    other = SecretBox.from_key(generate_key())
    with pytest.raises(MasterKeyError, match="master key does not match") as caught:
        other.decrypt(token)
    assert SECRET not in str(caught.value)
    with pytest.raises(MasterKeyError):
        other.decrypt("garbage")


def test_no_plaintext_secret_in_the_sqlite_file(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'smp.db'}")
    migrate(engine)
    _store(engine, SecretBox.load(tmp_path))
    engine.dispose()  # checkpoints the WAL into the main file
    for name in ("smp.db", "smp.db-wal"):
        path = tmp_path / name
        if path.exists():
            data = path.read_bytes()
            assert SECRET.encode() not in data
            assert b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq" not in data


def test_rotation_reencrypts_and_retires_the_old_key(
    engine: Engine, tmp_path: Path
) -> None:
    old_box = SecretBox.load(tmp_path)
    old_key = (tmp_path / "master.key").read_text()
    sa_id = _store(engine, old_box)
    with session_factory(engine)() as session:
        old_token = get_service_account(session, sa_id).encrypted_secret

    count = rotate_master_key(engine, home=tmp_path)
    assert count >= 1
    new_key = (tmp_path / "master.key").read_text()
    assert new_key != old_key
    assert stat.S_IMODE((tmp_path / "master.key").stat().st_mode) == 0o600
    assert not (tmp_path / "master.key.new").exists()

    new_box = SecretBox.load(tmp_path)
    with session_factory(engine)() as session:
        token = get_service_account(session, sa_id).encrypted_secret
        assert token != old_token
        assert new_box.decrypt(token) == SECRET
        check_master_key(session, new_box)
        with pytest.raises(MasterKeyError):
            SecretBox.from_key(old_key).decrypt(token)
        with pytest.raises(MasterKeyError):
            check_master_key(session, SecretBox.from_key(old_key))


def test_interrupted_rotation_still_decrypts(tmp_path: Path) -> None:
    """A crash after the re-encryption commit but before the rename loses nothing."""
    old = SecretBox.load(tmp_path)
    new_key = generate_key()
    (tmp_path / "master.key.new").write_text(new_key)
    token = SecretBox.from_key(new_key).encrypt(SECRET)
    assert SecretBox.load(tmp_path).decrypt(token) == SECRET
    assert SecretBox.load(tmp_path).decrypt(old.encrypt(SECRET)) == SECRET
