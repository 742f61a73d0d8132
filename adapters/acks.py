"""Acknowledgements first: work started by a request waits until no request is being
acknowledged.

The event loop serves requests in turns. Answers started while a burst of requests is
still being acknowledged (the core's routing and guard on the loop, the model on the
answer threads, competing for the same cores) stretch every turn, and the burst's
responses then all leave together, late. Requests are marked with
:meth:`AckGate.acknowledging` up to their response; work started after an acknowledgement
awaits :meth:`AckGate.after_acks` before it begins, or :data:`MAX_DEFERRAL_SECONDS` at most,
so a steady stream of requests cannot hold it back indefinitely.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

MAX_DEFERRAL_SECONDS = 1.0


class AckGate:
    """Counts the requests being acknowledged; lets deferred work start when there are none."""

    def __init__(self, max_deferral: float = MAX_DEFERRAL_SECONDS) -> None:
        self.max_deferral = max_deferral
        self.acknowledging_now = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @contextlib.contextmanager
    def acknowledging(self) -> Iterator[None]:
        """Around the handling of one request, up to its response."""
        self.acknowledging_now += 1
        self._idle.clear()
        try:
            yield
        finally:
            self.acknowledging_now -= 1
            if self.acknowledging_now == 0:
                self._idle.set()

    async def after_acks(self) -> None:
        """Return once no request is being acknowledged, or after the longest deferral."""
        if self.acknowledging_now:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), self.max_deferral)

    async def run_after_acks(self, work: Coroutine[Any, Any, T]) -> T:
        """Await ``work`` once :meth:`after_acks` returns (closed unstarted if cancelled)."""
        try:
            await self.after_acks()
        except BaseException:
            work.close()
            raise
        return await work
