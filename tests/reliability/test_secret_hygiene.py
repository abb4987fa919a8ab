"""Secret hygiene for the CLI flow: the raw keys appear nowhere SMP writes.

Connect, sync (with a revoked key and faults, so errors are produced), read
outs, exports, all with DEBUG logging; then the database file (and its WAL),
every output, every export file and every log line are searched for each raw
key and its secret part. The API and web UI are not covered here yet.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from smp.cli.loopback import serve_simulator
from smp.cli.main import app
from smp.simulator import FaultRule, Simulator, World, generate_world


@pytest.fixture
def served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[World, str, Simulator]]:
    monkeypatch.setenv("SMP_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SMP_DATABASE_URL", raising=False)
    monkeypatch.delenv("SMP_SECRET_KEY", raising=False)
    world = generate_world(seed=31, accounts=1, teammates=10, subusers=2)
    for key in world.keys:
        monkeypatch.setenv(f"SG_{key.kind.upper()}", key.key)
    sim = Simulator(world, rate_limit=None)
    with serve_simulator(sim) as base_url:
        yield world, base_url, sim


@pytest.mark.loopback
def test_no_raw_key_anywhere(
    served: tuple[World, str, Simulator],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    world, base_url, sim = served
    caplog.set_level(logging.DEBUG)
    runner = CliRunner()
    outputs: list[str] = []

    def smp(*args: str) -> None:
        result = runner.invoke(app, list(args))
        outputs.append(result.output + repr(result.exception))

    name = "Hygiene ✓"
    smp(
        "connect",
        "sendgrid",
        name,
        "--key-env",
        "SG_FULL",
        "--billing-key-env",
        "SG_BILLING",
        "--base-url",
        base_url,
        "--json",
    )
    smp(
        "connect",
        "sendgrid",
        "revoked",
        "--key-env",
        "SG_REVOKED",
        "--base-url",
        base_url,
    )
    smp(
        "connect",
        "sendgrid",
        "broken",
        "--key-env",
        "SG_VALIDATION",
        "--base-url",
        base_url,
    )
    smp("sync", name, "--json")
    sim.add_fault(
        FaultRule(kind="status", status=502, html=True, path="/v3/stats", count=2)
    )
    sim.add_fault(FaultRule(kind="truncated_json", path="/v3/teammates"))
    sim.add_fault(FaultRule(kind="revoke_after", after=0, path="/v3/billing/*"))
    smp("sync", name, "--json")
    smp("sync", name)
    for command in ("members", "invoices", "usage", "history"):
        smp(command, name, "--json")
    smp("service-account", "list", name, "--json")
    out = tmp_path / "exports"
    smp("export", name, "--format", "csv", "--out", str(out))
    smp("export", name, "--format", "xlsx", "--out", str(out))
    assert any("needs_attention" in o for o in outputs), outputs[-1]

    haystacks = {f"output {i}": o.encode() for i, o in enumerate(outputs)}
    haystacks["log"] = caplog.text.encode()
    home = tmp_path / "home"
    for path in [*home.glob("smp.db*"), *out.rglob("*")]:
        if path.is_file():
            haystacks[str(path)] = path.read_bytes()
    assert any(p.endswith(".xlsx") for p in haystacks)
    needles = set()
    for key in world.keys:
        needles |= {key.key, key.key.split(".")[2]}
    found = [
        (where, needle[:6])
        for where, data in haystacks.items()
        for needle in needles
        if needle.encode() in data
    ]
    assert found == []
