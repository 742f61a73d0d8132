"""Work after an acknowledgement: kept until done, failures logged by name, drained at
shutdown with the stragglers cancelled."""

from __future__ import annotations

import asyncio
import logging

import pytest

from adapters.background import BackgroundWork


async def test_drain_waits_for_work_and_the_work_it_starts() -> None:
    work = BackgroundWork("slack")
    done: list[str] = []

    async def second() -> None:
        await asyncio.sleep(0.01)
        done.append("second")

    async def first() -> None:
        await asyncio.sleep(0.01)
        done.append("first")
        work.spawn(second(), name="second")

    task = work.spawn(first(), name="first")
    assert task.get_name() == "slack:first" and work.pending == 1
    await work.drain()
    assert done == ["first", "second"] and work.pending == 0


async def test_a_failure_is_logged_with_the_task_name(caplog: pytest.LogCaptureFixture) -> None:
    work = BackgroundWork("teams")

    async def broken() -> None:
        raise RuntimeError("connector down")

    with caplog.at_level(logging.ERROR, logger="adapters.background"):
        work.spawn(broken(), name="answer")
        await work.drain()
    assert [r.getMessage() for r in caplog.records] == ["teams:answer failed"]


async def test_drain_cancels_what_outlives_the_timeout(caplog: pytest.LogCaptureFixture) -> None:
    work = BackgroundWork("teams")
    task = work.spawn(asyncio.sleep(60), name="slow")
    with caplog.at_level(logging.WARNING, logger="adapters.background"):
        await work.drain(timeout=0.05)
    assert task.cancelled() and work.pending == 0
    assert "teams: cancelled 1 unfinished task(s) at shutdown" in caplog.text
