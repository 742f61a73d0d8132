"""The hand-off collaborators one process shares, built once from the settings and a store.

:class:`bot.assistant.Assistant` receives them; adapters reach the staff side through
``desk`` and deliveries through ``relay``. Building them here keeps the wiring (which
clock, which timeout, which embedder groups the knowledge gaps) out of the routing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.handoff.desk import SupportDesk
from bot.handoff.incident import Conversations
from bot.handoff.lifecycle import SupportQueue
from bot.handoff.outbox import Notifiers, OutboxRelay
from bot.handoff.records import utc_now
from bot.handoff.submissions import Handoff
from bot.history import ChatHistory
from bot.settings import Settings
from bot.store import Store
from knowledge.embedding import Embedder


@dataclass
class HandoffServices:
    """Submissions, the staff desk, the outbox relay and the incident dialogue's state."""

    store: Store
    submissions: Handoff
    desk: SupportDesk
    relay: OutboxRelay
    conversations: Conversations
    ack_hours: float
    history: ChatHistory

    @property
    def notifiers(self) -> Notifiers:
        return self.relay.notifiers


def open_handoff(
    settings: Settings,
    store: Store,
    *,
    notifiers: Notifiers | None = None,
    embedder: Embedder | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> HandoffServices:
    """Every hand-off collaborator over one store, sharing one clock."""
    relay = OutboxRelay(store, notifiers or Notifiers(), clock=clock)
    queue = SupportQueue(store, settings, clock=clock)
    return HandoffServices(
        store=store,
        submissions=Handoff(store, settings, clock=clock),
        desk=SupportDesk(queue, relay, embedder=embedder),
        relay=relay,
        conversations=Conversations(
            store,
            timeout=timedelta(minutes=settings.conversation_timeout_minutes),
            clock=clock,
        ),
        ack_hours=settings.incident_ack_hours,
        history=ChatHistory(
            store, timeout=timedelta(minutes=settings.conversation_timeout_minutes), clock=clock
        ),
    )
