"""Where answers are worked out in a server: a bounded pool of threads with a queue limit.

Answers used to run on the event loop's default executor, beside every other blocking call
(delivery claims, the privacy guard, store reads): a burst of questions then queued the
acknowledgement path's own work behind the model. :class:`AnswerPool` gives answering its
own threads, so what the acknowledgement needs is never behind it; and it counts the
questions waiting or being answered: past ``queue_limit`` a new question is refused at
once (:class:`Busy`, which the assistant turns into a short "try again in a minute") rather
than waiting behind minutes of work.

The count is per server process on purpose: it measures this server's backlog of CPU
work, which another server's queue says nothing about. With answer worker processes
(:class:`bot.answering.workers.ProcessAnswerPool`) the count is kept by the server process
in front of its workers, with the same limit and the same :class:`Busy`.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Protocol, TypeVar

from bot.models import Answer

T = TypeVar("T")

DEFAULT_WORKERS = 8
DEFAULT_QUEUE_LIMIT = 500


class Busy(Exception):
    """The answer queue is full; the question was not started."""


class Answering(Protocol):
    def answer(self, question: str) -> Answer: ...


class AnswerQueue(ABC):
    """Where a server's answers are worked out, behind one admission count: questions in
    flight, and how many were refused as busy. Threads (:class:`AnswerPool`) or worker
    processes (:class:`bot.answering.workers.ProcessAnswerPool`)."""

    def __init__(self, *, queue_limit: int) -> None:
        self.queue_limit = queue_limit
        self.in_flight = 0
        self.refused = 0

    @contextlib.contextmanager
    def admitted(self) -> Iterator[None]:
        """Count one question in flight while the block runs.

        Raises:
            Busy: ``queue_limit`` questions are already waiting or being answered.
        """
        if self.queue_limit > 0 and self.in_flight >= self.queue_limit:
            self.refused += 1
            raise Busy(f"{self.in_flight} questions in flight (limit {self.queue_limit})")
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1

    @abstractmethod
    async def answer(self, answerer: Answering, question: str) -> Answer:
        """The answer to ``question``.

        Raises:
            Busy: ``queue_limit`` questions are already waiting or being answered.
        """


class AnswerPool(AnswerQueue):
    """Threads for answering, and the admission count in front of them."""

    def __init__(
        self, *, workers: int = DEFAULT_WORKERS, queue_limit: int = DEFAULT_QUEUE_LIMIT
    ) -> None:
        if workers < 1:
            raise ValueError("an answer pool needs at least one worker")
        super().__init__(queue_limit=queue_limit)
        self.workers = workers
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="answer")

    @property
    def queued(self) -> int:
        """Questions waiting for a free worker (not yet being answered)."""
        return max(0, self.in_flight - self.workers)

    async def run(self, work: Callable[[], T]) -> T:
        """Run ``work`` on an answering thread.

        Raises:
            Busy: ``queue_limit`` questions are already waiting or being answered.
        """
        with self.admitted():
            return await asyncio.get_running_loop().run_in_executor(self.executor, work)

    async def answer(self, answerer: Answering, question: str) -> Answer:
        """``answerer``'s answer to ``question``, worked out on one of this pool's threads.

        Raises:
            Busy: as :meth:`run`.
        """
        return await self.run(partial(answerer.answer, question))

    def shutdown(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
