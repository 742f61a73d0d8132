"""Building the assistant: one answering engine plus the hand-off services over one store.

Every entrance that holds conversations (the server, ``policybot chat``, the tests) builds
its :class:`Assistant` here; ``policybot ask`` needs no store and builds
``Assistant(engine.answerer)`` directly.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.answering.pool import AnswerPool
from bot.answering.updates import PolicyUpdates
from bot.assistant import Assistant
from bot.handoff.outbox import Notifiers
from bot.handoff.records import utc_now
from bot.handoff.services import open_handoff
from bot.store import Store, open_store
from bot.store.documents import DocumentStore


def build_assistant(
    engine: Any,
    *,
    store: Store | None = None,
    notifiers: Notifiers | None = None,
    clock: Callable[[], datetime] = utc_now,
    pool: AnswerPool | None = None,
) -> Assistant:
    """The assistant for ``engine`` (an :class:`bot.answering.engine.Engine` or a test's
    stand-in with ``settings``, ``answerer`` and ``embedder``); the store is opened from
    the engine's settings unless one is given."""
    settings = engine.settings
    store = store or open_store(settings)
    handoff = open_handoff(
        settings,
        store,
        notifiers=notifiers,
        embedder=getattr(engine, "embedder", None),
        clock=clock,
    )
    answerer = PolicyUpdates(
        engine.answerer,
        DocumentStore(store),
        today=lambda: getattr(engine, "clock", clock)().astimezone(settings.zone).date(),
    )
    return Assistant(
        answerer,
        handoff=handoff,
        max_chars=settings.ticket_field_max_chars,
        zone=settings.zone,
        pool=pool,
    )
