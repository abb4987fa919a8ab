"""API keys at rest: Fernet encryption under a master key SMP keeps outside the DB.

The master key is `$SMP_SECRET_KEY` when set, otherwise `$SMP_HOME/master.key`,
generated on first use with mode 0600 (written to a temporary file, then linked
into place, so two processes starting at once agree on one key).

Rotation (`rotate_master_key`) is ordered so a crash at any point loses nothing:
1. the new key is written to `master.key.new` (0600, fsynced);
2. every stored secret is re-encrypted with it in ONE transaction;
3. `master.key.new` replaces `master.key` (atomic rename).
A crash before 2 commits leaves the old key in force. A crash between 2 and 3
leaves both files; `SecretBox.load` accepts both, and running the rotation again
finishes it. With `SMP_SECRET_KEY`, the caller supplies the new key and must set
the variable to it afterwards.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from smp.settings import secret_key_setting, smp_home
from smp.storage.alerts import channel_secrets, replace_channel_secret
from smp.storage.engine import ensure_home
from smp.storage.errors import MasterKeyError
from smp.storage.integrations import encrypted_secrets, replace_encrypted_secret

KEY_FILE = "master.key"
NEW_KEY_FILE = "master.key.new"

_MISMATCH = (
    "cannot decrypt the stored API keys: the master key does not match the one "
    "they were encrypted with (check SMP_SECRET_KEY or $SMP_HOME/master.key)"
)


def channel_mismatch(name: str) -> str:
    """The one line when an alert channel's secret does not open: it names the
    channel and what the secret is, not SendGrid keys, and both ways out."""
    return (
        f"cannot decrypt the secret of alert channel {name!r} (its webhook URL, "
        "SMTP password or HMAC secret): the master key does not match the one it "
        "was encrypted with; set SMP_SECRET_KEY or $SMP_HOME/master.key back to "
        "that key, or remove the channel and add it again"
    )


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


def _fernet(key: str | bytes, where: str) -> Fernet:
    try:
        return Fernet(key.strip())
    except (ValueError, TypeError):
        raise MasterKeyError(
            f"{where} is not a valid master key (expected 32 url-safe base64 bytes)"
        ) from None


def _write_private(path: Path, content: str, *, replace_existing: bool) -> None:
    """Write `content` with mode 0600 via a temp file; fsync before it appears."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(descriptor, content.encode("ascii"))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    try:
        if replace_existing:
            os.replace(temp, path)
        else:
            os.link(temp, path)  # fails if another process created it first
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)


class SecretBox:
    """Encrypts and decrypts API keys. Never shows its keys in a repr."""

    def __init__(self, keys: Sequence[Fernet]) -> None:
        if not keys:
            raise MasterKeyError("no master key")
        self._keys = list(keys)
        self._multi = MultiFernet(self._keys)

    def __repr__(self) -> str:
        return "SecretBox(<master key hidden>)"

    @classmethod
    def from_key(cls, key: str | bytes, *, where: str = "the master key") -> SecretBox:
        return cls([_fernet(key, where)])

    @classmethod
    def load(cls, home: Path | None = None) -> SecretBox:
        """From `SMP_SECRET_KEY`, else `$SMP_HOME/master.key` (created if missing)."""
        configured = secret_key_setting()
        if configured:
            return cls.from_key(configured, where="SMP_SECRET_KEY")
        directory = ensure_home(home or smp_home())
        path = directory / KEY_FILE
        if not path.exists():
            with contextlib.suppress(FileExistsError):
                _write_private(path, generate_key(), replace_existing=False)
        keys = [_fernet(path.read_text("ascii"), str(path))]
        pending = directory / NEW_KEY_FILE
        if pending.exists():  # an interrupted rotation: secrets may use either key
            keys.append(_fernet(pending.read_text("ascii"), str(pending)))
        return cls(keys)

    def encrypt(self, plain: str) -> str:
        return self._multi.encrypt(plain.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str, *, mismatch: str = _MISMATCH) -> str:
        """The plain text; MasterKeyError saying `mismatch` if it does not open."""
        try:
            return self._multi.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise MasterKeyError(mismatch) from None


def check_master_key(session: Session, box: SecretBox) -> None:
    """Fail early with MasterKeyError if the stored secrets don't open with `box`."""
    stored = encrypted_secrets(session)
    if stored:
        box.decrypt(stored[0][1])


def rotate_master_key(
    engine: Engine,
    *,
    home: Path | None = None,
    new_key: str | None = None,
    audit: Callable[[Session, int, int], None] | None = None,
) -> int:
    """Re-encrypt every stored secret under a new master key; returns how many.

    Without `SMP_SECRET_KEY`, a new key is generated (unless given) and replaces
    `$SMP_HOME/master.key` in the crash-safe order of the module docstring.
    With it, `new_key` is required; set `SMP_SECRET_KEY` to it afterwards.
    `audit(session, keys, channels)` records the rotation in its transaction.
    """
    using_env = secret_key_setting() is not None
    if using_env and not new_key:
        raise MasterKeyError(
            "SMP_SECRET_KEY is set: give the new key to rotate to, then set "
            "SMP_SECRET_KEY to it"
        )
    old = SecretBox.load(home)
    fresh_key = new_key or generate_key()
    fresh = _fernet(fresh_key, "the new master key")
    directory = ensure_home(home or smp_home())
    if not using_env:
        _write_private(directory / NEW_KEY_FILE, fresh_key, replace_existing=True)
    rotating = MultiFernet([fresh, *old._keys])

    def rotated(token: str, mismatch: str = _MISMATCH) -> str:
        try:
            return rotating.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise MasterKeyError(mismatch) from None

    with Session(engine) as session, session.begin():
        stored = encrypted_secrets(session)
        for sa_id, token in stored:
            replace_encrypted_secret(session, sa_id, rotated(token))
        # Alert channels' passwords, webhook URLs and HMAC secrets too.
        channels = channel_secrets(session)
        for channel_id, name, token in channels:
            again = rotated(token, channel_mismatch(name))
            replace_channel_secret(session, channel_id, again)
        if audit is not None:
            audit(session, len(stored), len(channels))
    if not using_env:
        os.replace(directory / NEW_KEY_FILE, directory / KEY_FILE)
        _fsync_directory(directory)
    return len(stored)


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
