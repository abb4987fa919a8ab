"""Garbage-collector settings for long sync processes (`smp sync`, `smp worker`,
and the writer process they may start).

A sync allocates many short-lived objects (parsed pages, rows). Freezing what
exists after startup (modules, ORM metadata: never garbage) keeps full
collections from walking it again and again, and a larger first generation
runs the collector less often; together they cut the CPU of `smp sync --all`
by about a fifth (benchmarks/sync_bench.py, ADR 5's addendum). The client
library never touches process-wide settings; only these processes do.
"""

from __future__ import annotations

import gc


def tune_for_sync() -> None:
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
