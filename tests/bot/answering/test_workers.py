"""The process answer pool on its own: real worker processes forked from a real zygote,
with an answerer that echoes the question (the model is exercised end to end in
``tests/adapters/cli/test_serve_workers.py``)."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from bot.answering.pool import Busy
from bot.answering.workers import AnswerFailed, ProcessAnswerPool, WorkerLost, Zygote
from bot.models import Answer, Status


class Echo:
    def answer(self, question: str) -> Answer:
        if question == "fail":
            raise ValueError("a question nobody can answer")
        return Answer(
            question=question,
            status=Status.ANSWERED,
            text=f"{question} (answered by {os.getpid()})",
            citations=(),
            latency_ms=0.0,
        )


def echo() -> Echo:
    return Echo()


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def wait_for(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    for _ in range(600):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(what)


@pytest.fixture
async def pool():  # type: ignore[no-untyped-def]
    answers = ProcessAnswerPool(Zygote(echo, threads=2), processes=1, queue_limit=1)
    await answers.start()
    yield answers
    await answers.close()


async def test_a_worker_process_answers_and_its_errors_come_back_by_name(
    pool: ProcessAnswerPool,
) -> None:
    [worker] = pool.ready_pids

    answer = await pool.answer(Echo(), "what may I paste?")

    assert answer.text == f"what may I paste? (answered by {worker})"
    assert worker != os.getpid()
    with pytest.raises(AnswerFailed):
        await pool.answer(Echo(), "fail")
    assert pool.answered == {worker: 2}


async def test_past_the_queue_limit_a_question_is_refused_busy(pool: ProcessAnswerPool) -> None:
    [worker] = pool.ready_pids
    os.kill(worker, signal.SIGSTOP)
    try:
        first = asyncio.create_task(pool.answer(Echo(), "first"))
        await wait_for(lambda: pool.in_flight == 1, "the first question in flight")
        with pytest.raises(Busy):
            await pool.answer(Echo(), "second")
        assert pool.refused == 1
    finally:
        os.kill(worker, signal.SIGCONT)
    assert (await first).text.startswith("first")
    assert pool.in_flight == 0


async def test_a_lost_worker_fails_its_question_and_is_replaced(pool: ProcessAnswerPool) -> None:
    [worker] = pool.ready_pids
    os.kill(worker, signal.SIGSTOP)
    question = asyncio.create_task(pool.answer(Echo(), "held"))
    await wait_for(lambda: pool.in_flight == 1, "the question in flight")
    os.kill(worker, signal.SIGKILL)

    with pytest.raises(WorkerLost):
        await question
    await wait_for(lambda: len(pool.ready_pids) == 1, "a replacement worker")
    [replacement] = pool.ready_pids
    assert replacement != worker
    assert pool.restarts == 1
    assert (await pool.answer(Echo(), "again")).text.endswith(f"by {replacement})")


async def test_closing_leaves_no_process_behind() -> None:
    answers = ProcessAnswerPool(Zygote(echo, threads=1), processes=2, queue_limit=0)
    await answers.start()
    workers = answers.ready_pids
    assert len(workers) == 2

    await answers.close()

    await wait_for(lambda: not any(alive(pid) for pid in workers), "the workers to exit")
    assert not alive(answers.zygote.pid)
