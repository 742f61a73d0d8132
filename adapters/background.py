"""Work done after a platform has its acknowledgement: tracked tasks, drained at shutdown.

Slack wants every request acknowledged within 3 seconds and Teams resends an activity
without an HTTP response within 15; answering can take longer (the model, the index, a
rate-limited API). Handlers acknowledge first and hand the rest to
:meth:`BackgroundWork.spawn`. Tasks are kept (so none is garbage-collected mid-flight),
their failures are logged, and :meth:`drain` lets in-flight answers finish when the server
stops. Slack's runtime and Teams' :class:`~adapters.teams.later.LaterReplies` each hold one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class BackgroundWork:
    """A set of tasks started after an acknowledgement, named ``<platform>:<name>``."""

    def __init__(self, platform: str) -> None:
        self.platform = platform
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(work, name=f"{self.platform}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s failed", task.get_name(), exc_info=task.exception())

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def drain(self, timeout: float | None = None) -> None:
        """Wait for the running tasks (and those they start) to finish; cancel the rest
        after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while self._tasks:
            remaining = None if deadline is None else max(0.0, deadline - loop.time())
            _, pending = await asyncio.wait(set(self._tasks), timeout=remaining)
            if pending and deadline is not None and loop.time() >= deadline:
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                log.warning(
                    "%s: cancelled %d unfinished task(s) at shutdown", self.platform, len(pending)
                )
                return
