"""The hand-off service as the console uses it, and the web platform's notifier.

One set of hand-off services per process, kept in ``ServerContext.extras["handoff"]``:
whichever adapter's ``setup`` runs first builds it on the configured store, the others
reuse it. The console adds its :class:`WebNotifier`: a web visitor has no chat to push to,
so a message for them is marked delivered and they read their tickets' state on the chat
page instead.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web

from adapters.metrics import GaugeReader, Labels
from adapters.server import ServerContext
from bot.delivery import Notifiers, OutboxRelay
from bot.desk import SupportDesk
from bot.handoff import Handoff
from bot.ports import Notifier, Reporter
from bot.queue import SupportQueue
from bot.store import Store, open_store
from bot.tickets import TicketQuery, TicketState

PLATFORM = "web"
EXTRAS_KEY = "handoff"
DELIVERY_INTERVAL_SECONDS = 15.0


@dataclass
class HandoffServices:
    """The store and the hand-off service's two faces (employees', support staff's)."""

    store: Store
    handoff: Handoff
    desk: SupportDesk
    relay: OutboxRelay
    notifiers: Notifiers


class WebNotifier(Notifier):
    """Nothing to push: the chat page shows a visitor's tickets when they come back."""

    platform = PLATFORM

    async def notify_reporter(self, reporter: Reporter, text: str) -> None:
        return None

    async def post_ticket(self, ticket: object, *, event: str) -> None:
        return None


def handoff_services(app: web.Application, context: ServerContext) -> HandoffServices:
    """The process's hand-off services: the assistant's own when it is wired to the store,
    else built here once; the retry loop of notification delivery is started once too."""
    services = context.extras.get(EXTRAS_KEY)
    if isinstance(services, HandoffServices):
        return services
    assistant = context.assistant
    owned = getattr(assistant, "desk", None) is None
    if not owned:
        services = HandoffServices(
            store=assistant.store,
            handoff=assistant.handoff,
            desk=assistant.desk,
            relay=assistant.deliveries,
            notifiers=assistant.notifiers,
        )
    else:
        store = open_store(context.settings)
        notifiers = Notifiers()
        relay = OutboxRelay(store, notifiers)
        services = HandoffServices(
            store=store,
            handoff=Handoff(store, context.settings),
            desk=SupportDesk(
                SupportQueue(store, context.settings), relay, embedder=context.engine.embedder
            ),
            relay=relay,
            notifiers=notifiers,
        )
    context.extras[EXTRAS_KEY] = services

    async def deliver(_: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(services.relay.run(interval=DELIVERY_INTERVAL_SECONDS))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if owned:
            services.store.close()

    app.cleanup_ctx.append(deliver)
    return services


def ticket_gauge(desk: SupportDesk) -> GaugeReader:
    """Tickets by state, read from the store at scrape time."""

    async def read() -> dict[Labels, float]:
        counts: dict[Labels, float] = {}
        for state in TicketState:
            page = await desk.list_tickets(TicketQuery(state=state, limit=1))
            counts[(("state", state.value),)] = float(page.total)
        return counts

    return read
