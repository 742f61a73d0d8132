"""Building the assistant: one answering engine plus the hand-off services over one store.

Every entrance that holds conversations (the server, ``policybot chat``, the tests) builds
its :class:`Assistant` here; ``policybot ask`` needs no store and builds
``Assistant(engine.answerer)`` directly.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.answering.pool import AnswerQueue
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
    pool: AnswerQueue | None = None,
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
    return Assistant(
        policy_answerer(engine, store, clock=clock),
        handoff=handoff,
        max_chars=settings.ticket_field_max_chars,
        zone=settings.zone,
        pool=pool,
    )


def policy_answerer(
    engine: Any, store: Store, *, clock: Callable[[], datetime] = utc_now
) -> PolicyUpdates:
    """The answerer every question goes to: the engine's, told about policy updates from
    the store's document versions. An answer worker process builds its own the same way."""
    return PolicyUpdates(
        engine.answerer,
        DocumentStore(store),
        today=lambda: getattr(engine, "clock", clock)().astimezone(engine.settings.zone).date(),
    )
