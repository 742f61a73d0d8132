"""Work started after an acknowledgement waits for the acknowledgements still in flight."""

from __future__ import annotations

import asyncio

from adapters.acks import AckGate


async def _turns(n: int = 20) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def test_work_waits_until_no_request_is_being_acknowledged() -> None:
    gate = AckGate(max_deferral=600)
    started: list[str] = []

    async def work(name: str) -> str:
        started.append(name)
        return name

    with gate.acknowledging():
        with gate.acknowledging():
            first = asyncio.ensure_future(gate.run_after_acks(work("a")))
            await _turns()
            assert started == []
        await _turns()
        assert started == []  # one request is still being acknowledged
    assert await first == "a"
    assert started == ["a"]


async def test_work_with_nothing_to_wait_for_starts_at_once() -> None:
    gate = AckGate(max_deferral=600)

    async def work() -> int:
        return 7

    assert await gate.run_after_acks(work()) == 7


async def test_a_steady_stream_of_requests_cannot_hold_work_back_forever() -> None:
    gate = AckGate(max_deferral=0.01)

    async def work() -> str:
        return "done"

    with gate.acknowledging():
        assert await gate.run_after_acks(work()) == "done"


async def test_work_cancelled_while_waiting_is_closed_unstarted() -> None:
    gate = AckGate(max_deferral=600)
    started = []

    async def work() -> None:
        started.append(True)

    coroutine = work()
    with gate.acknowledging():
        task = asyncio.ensure_future(gate.run_after_acks(coroutine))
        await _turns()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()
    assert started == []
    assert coroutine.cr_frame is None  # closed, so no "never awaited" warning
