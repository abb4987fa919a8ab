"""Figures for docs/reliability.md: logged, and appended to a file on request.

`SMP_RELIABILITY_FIGURES=/path/figures.jsonl pytest tests/reliability` collects
one JSON line per test; without it the figures go to the `reliability` logger
(visible with `-o log_cli=true -o log_cli_level=INFO`).
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

log = logging.getLogger("reliability")


def record(name: str, figures: dict[str, Any]) -> None:
    line = json.dumps({"test": name, **figures}, default=str)
    log.info("%s", line)
    target = os.environ.get("SMP_RELIABILITY_FIGURES")
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
