"""The observer seam: who hears about each answered question (metrics, usage statistics).

:class:`bot.assistant.Assistant` calls every observer in ``Assistant.observers`` after it has
built a reply that answers a question (``Reply.status`` set); incident, feedback and
hand-off turns are not questions. An observer gets the (redacted) message, the reply and
the seconds it took. Its failures are logged, never raised: bookkeeping must never lose an
employee's answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Any

from bot.models import Message, Reply

log = logging.getLogger(__name__)

QuestionObserver = Callable[[Message, Reply, float], Any]

_PENDING: set[asyncio.Task[Any]] = set()


async def notify(
    observers: Iterable[QuestionObserver], message: Message, reply: Reply, seconds: float
) -> None:
    """Call each observer; an asynchronous one (e.g. a database write) runs as a task of its
    own, so the reply never waits behind a backlog of bookkeeping under load."""
    for observer in observers:
        try:
            result = observer(message, reply, seconds)
        except Exception:  # an observer's failure must never lose the employee's answer
            log.exception("question observer %r failed", observer)
            continue
        if asyncio.iscoroutine(result):
            task = asyncio.ensure_future(_guarded(observer, result))
            _PENDING.add(task)
            task.add_done_callback(_PENDING.discard)


async def _guarded(observer: QuestionObserver, pending: Any) -> None:
    try:
        await pending
    except Exception:  # logged, never raised: see notify
        log.exception("question observer %r failed", observer)
