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
