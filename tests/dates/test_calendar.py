"""The calendar suite: real `smp` processes and a simulator under Debian's faketime.

Each scenario (tests/dates/clocks.py) runs the demo, a full sync, an
incremental sync and `smp usage --json` at moments where calendars break. The
simulator is a process of its own. A step on a later date restarts it there
on the world it saved, so that world lives through the gap; a machine clock
that jumps back leaves it running, as SendGrid's clock would.

Every figure is checked against the simulator's world (`GET /_sim/world`),
never against SMP's own arithmetic.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tests.dates.clocks import Step, scenarios
from tests.support import truth

from smp.cli.demo_cmd import demo_world
from smp.cli.loopback import free_port
from smp.simulator import World, load_world
from smp.simulator.world import DailyStat
from smp.storage import list_integrations, make_engine

SMP = str(Path(sys.executable).with_name("smp"))
TIMEOUT_S = 180
NAME = "cal"
NEW_WORLD = ["--seed", "5", "--accounts", "1", "--teammates", "8", "--pending", "4",
             "--subusers", "2", "--months", "3", "--invoices", "2"]  # fmt: skip
SCENARIOS = scenarios(dt.datetime.now(dt.UTC).date())


SHM = Path("/dev/shm")


def sweep_stale_faketime() -> None:
    """Remove shared memory and semaphores left by faketime wrappers now gone.

    The wrapper names them after its own pid and creates them exclusively; a
    wrapper that was killed leaves them behind, and with pids reused (pid_max
    is 32768 here) a later wrapper with that pid then fails at `sem_open`.
    """
    for entry in SHM.glob("*faketime_s*_*"):
        pid = entry.name.rpartition("_")[2]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            entry.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def faketime() -> str:
    found = shutil.which("faketime")
    if found is None:
        message = "Debian's faketime is not installed (./scripts/test installs it)"
        if os.environ.get("SMP_REQUIRE_SERVICES"):
            pytest.fail(f"{message}, and CI requires it", pytrace=False)
        pytest.skip(message)
    return found


@dataclass
class Machine:
    """One SMP home whose commands each start at a chosen moment."""

    faketime: str
    home: Path
    keys: dict[str, str] = field(default_factory=dict)

    def argv(self, at: dt.datetime, *args: str) -> list[str]:
        return [self.faketime, at.strftime("%Y-%m-%d %H:%M:%S"), SMP, *args]

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SMP_")}
        return env | self.keys | {"SMP_HOME": str(self.home), "TZ": "UTC"}

    def run(self, at: dt.datetime, *args: str) -> str:
        sweep_stale_faketime()
        done = subprocess.run(
            self.argv(at, *args),
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
        assert done.returncode == 0, (args, str(at), done.stdout[-3000:], done.stderr)
        return done.stdout

    def json(self, at: dt.datetime, *args: str) -> Any:
        return json.loads(self.run(at, *args, "--json"))

    def engine(self) -> Engine:
        return make_engine(f"sqlite:///{self.home / 'smp.db'}")


class SimulatorProcess:
    """`smp simulator serve` under faketime, restarted on the world it saved."""

    def __init__(self, machine: Machine, directory: Path) -> None:
        self.machine = machine
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.world_file = directory / "world.json"
        self.log = directory / "simulator.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, at: dt.datetime) -> None:
        sweep_stale_faketime()
        world = ["--world", str(self.world_file)] if self.world_file.exists() else []
        argv = self.machine.argv(
            at, "simulator", "serve", "--port", str(self.port), "--rate-limit", "0",
            *(world or NEW_WORLD),
        )  # fmt: skip
        with self.log.open("ab") as log:
            # A session of its own: faketime runs the simulator as its child,
            # and stopping must stop both, or the old one keeps the port.
            self.process = subprocess.Popen(
                argv,
                env=self.machine.env(),
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        for _ in range(300):
            assert self.process.poll() is None, self.log.read_text()
            try:
                httpx.get(f"{self.url}/_sim/faults", timeout=0.5)
                return
            except httpx.TransportError:
                subprocess.run(["sleep", "0.05"], check=True)
        raise AssertionError(f"the simulator did not start: {self.log.read_text()}")

    def world(self) -> World:
        """The world as the simulator holds it now; also saved for a restart."""
        text = httpx.get(f"{self.url}/_sim/world", timeout=10).text
        self.world_file.write_text(text)
        return load_world(self.world_file)

    def stop(self) -> None:
        if self.process is None:
            return
        wrapper, self.process = self.process, None
        # Stop the simulator, not the wrapper: faketime then removes its own
        # shared memory and semaphore as it exits. The group is the fallback.
        children = Path(f"/proc/{wrapper.pid}/task/{wrapper.pid}/children")
        pids = children.read_text().split() if children.exists() else []
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGTERM)
        try:
            wrapper.wait(timeout=20 if pids else 0.1)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(wrapper.pid, signal.SIGTERM)
            wrapper.wait(timeout=20)


@pytest.fixture
def simulator(faketime: str, tmp_path: Path) -> Iterator[SimulatorProcess]:
    machine = Machine(faketime, tmp_path / "home")
    machine.home.mkdir(mode=0o700)
    sim = SimulatorProcess(machine, tmp_path)
    try:
        yield sim
    finally:
        sim.stop()


def _months(days: Iterable[DailyStat]) -> dict[str, int]:
    """Requests per month ("YYYY-MM") for every month the world sent mail in."""
    totals: Counter[str] = Counter()
    for day in days:
        totals[day["date"][:7]] += day["metrics"]["requests"]
    return {month: total for month, total in sorted(totals.items()) if total}


def _shown_months(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {row["month"]: row["requests"] for row in rows if row["requests"]}


def _check_usage(usage: dict[str, Any], world: World, now: dt.datetime) -> None:
    account = world.accounts[0]
    assert _shown_months(usage["monthly"]) == _months(account.daily_stats)
    shown = {s["username"]: _shown_months(s["monthly"]) for s in usage["subusers"]}
    assert shown == {s.username: _months(s.daily_stats) for s in account.subusers}
    credits = usage["credits"]
    assert (credits["total"], credits["used"]) == (
        account.credits["total"],
        account.credits["used"],
    )
    # The period shown contains now, and its forecast belongs to it.
    start = dt.date.fromisoformat(credits["last_reset"])
    end = dt.date.fromisoformat(credits["next_reset"])
    assert start <= now.date() < end, (credits, now)
    assert usage["period_ended"] is False
    assert usage["forecast_used_at_reset"] is not None
    assert usage["forecast_used_at_reset"] >= credits["used"]


def _check_demo(machine: Machine, at: dt.datetime) -> None:
    machine.run(at, "demo")
    later = at + dt.timedelta(seconds=5)
    _check_usage(machine.json(later, "usage", "demo"), demo_world(1, at.date()), later)


def _check_stored(machine: Machine, world: World) -> None:
    engine = machine.engine()
    try:
        with Session(engine) as session:
            (iid,) = [i.id for i in list_integrations(session) if i.name == NAME]
        assert truth.stored(engine, iid) == truth.expected(world.accounts[0])
    finally:
        engine.dispose()


def _sync(machine: Machine, sim: SimulatorProcess, step: Step, first: bool) -> World:
    if step.simulator_at is not None:
        sim.stop()
        sim.start(step.simulator_at)
    if first:
        world = sim.world()
        account = world.accounts[0].username
        keys = {k.kind: k.key for k in world.keys if k.account == account}
        machine.keys = {"SG_KEY": keys["full"], "SG_BILLING_KEY": keys["billing"]}
        machine.run(
            step.at, "connect", "sendgrid", NAME, "--key-env", "SG_KEY",
            "--billing-key-env", "SG_BILLING_KEY", "--confirm-billing-account",
            "--base-url", sim.url,
        )  # fmt: skip
    report = machine.json(step.at, "sync", NAME)
    assert report, report
    return sim.world()


@pytest.mark.loopback
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_syncs_at_the_calendar_s_edges(name: str, simulator: SimulatorProcess) -> None:
    machine, steps = simulator.machine, SCENARIOS[name]
    _check_demo(machine, steps[0].at)
    for number, step in enumerate(steps):
        world = _sync(machine, simulator, step, first=number == 0)
        # Exact after every sync: nothing lost, nothing doubled, even when the
        # machine's clock is a day behind SendGrid's.
        _check_stored(machine, world)
        later = step.at + dt.timedelta(seconds=5)
        _check_usage(machine.json(later, "usage", NAME), world, later)
        events = machine.json(later, "history", NAME)
        assert len(events) == len({json.dumps(e, sort_keys=True) for e in events})
