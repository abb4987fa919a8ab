"""Where SMP keeps its files. Read from the environment on demand, never at import."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def smp_home() -> Path:
    """`$SMP_HOME`, or the per-user data directory."""
    configured = os.environ.get("SMP_HOME")
    if configured:
        return Path(configured).expanduser()
    return Path(platformdirs.user_data_dir("smp", appauthor=False))


def database_url_setting() -> str | None:
    """`$SMP_DATABASE_URL` when set (blank counts as unset)."""
    return os.environ.get("SMP_DATABASE_URL", "").strip() or None


def secret_key_setting() -> str | None:
    """`$SMP_SECRET_KEY` when set: a Fernet key that overrides the key file."""
    return os.environ.get("SMP_SECRET_KEY", "").strip() or None


def master_key_path() -> Path:
    """The generated master key file, `$SMP_HOME/master.key`."""
    return smp_home() / "master.key"


def test_only_fast_password_hash() -> bool:
    """`$SMP_TEST_ONLY_FAST_PASSWORD_HASH=1`: hash passwords at a far lower scrypt cost.

    For test suites that create and sign in hundreds of users; never for real use.
    """
    return os.environ.get("SMP_TEST_ONLY_FAST_PASSWORD_HASH", "").strip() == "1"
