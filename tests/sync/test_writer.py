"""Writes run on one thread off the event loop, in order, and survive a fork."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time

import pytest

from smp.sync.off_loop_writers import off_loop


def test_a_write_runs_off_the_loop_while_the_loop_goes_on() -> None:
    ticks: list[float] = []
    ended: list[float] = []

    def slow_write() -> str:
        time.sleep(0.5)
        ended.append(time.monotonic())
        return threading.current_thread().name

    async def ticker() -> None:
        for _ in range(5):
            ticks.append(time.monotonic())
            await asyncio.sleep(0.02)

    async def main() -> str:
        name, _ = await asyncio.gather(off_loop(slow_write), ticker())
        return name

    name = asyncio.run(main())
    assert name.startswith("smp-writer")
    # The loop ticked all five times while the write was still sleeping.
    assert len(ticks) == 5
    assert ticks[-1] < ended[0]


def test_writes_never_overlap_and_keep_their_order() -> None:
    active, most, order = 0, 0, []
    guard = threading.Lock()

    def write(index: int) -> int:
        nonlocal active, most
        with guard:
            active += 1
            most = max(most, active)
        time.sleep(0.01)
        order.append(index)
        with guard:
            active -= 1
        return index * 10

    async def main() -> list[int]:
        return await asyncio.gather(
            *(off_loop(lambda i=i: write(i)) for i in range(8))  # type: ignore[misc]
        )

    assert asyncio.run(main()) == [i * 10 for i in range(8)]
    assert most == 1
    assert order == list(range(8))


def test_an_error_in_a_write_reaches_the_caller() -> None:
    def broken() -> None:
        raise ValueError("disk on fire")

    with pytest.raises(ValueError, match="disk on fire"):
        asyncio.run(off_loop(broken))


def test_a_cancelled_caller_waits_for_the_started_write() -> None:
    finished = threading.Event()

    def write() -> None:
        time.sleep(0.2)
        finished.set()

    async def main() -> None:
        task = asyncio.create_task(off_loop(write))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # Cancelled, but only once the write had ended.
        assert finished.is_set()

    asyncio.run(main())


def test_a_forked_child_gets_a_writer_of_its_own() -> None:
    assert asyncio.run(off_loop(lambda: 1)) == 1  # the parent's thread exists
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit code
        try:
            code = (
                0 if asyncio.run(asyncio.wait_for(off_loop(lambda: 7), 5)) == 7 else 1
            )
        except BaseException:
            code = 2
        os._exit(code)
    deadline = time.monotonic() + 10
    while (found := os.waitpid(pid, os.WNOHANG))[0] == 0:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child's write never ran")
        time.sleep(0.05)
    assert os.waitstatus_to_exitcode(found[1]) == 0
