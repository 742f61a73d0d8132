"""The hand-off service as the console uses it, and the web platform's notifier.

The assistant owns the hand-off wiring (store, service, desk, notifiers, relay); the
console keeps a view of it in ``ServerContext.extras["handoff"]``. It adds its
:class:`WebNotifier`: a web visitor has no chat to push to, so a message for them is
marked delivered and they read their tickets' state on the chat page instead.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web

from adapters.metrics import GaugeReader, Labels
from adapters.server import ServerContext
from bot.handoff.desk import SupportDesk
from bot.handoff.outbox import Notifiers, OutboxRelay
from bot.handoff.ports import Notifier, Reporter
from bot.handoff.submissions import Handoff
from bot.handoff.tickets import TicketQuery, TicketState
from bot.store import Store

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
    """The assistant's hand-off wiring, and the loop that retries notification delivery
    (started once per process, whichever adapter asks first)."""
    services = context.extras.get(EXTRAS_KEY)
    if isinstance(services, HandoffServices):
        return services
    assistant = context.assistant
    services = HandoffServices(
        store=assistant.store,
        handoff=assistant.handoff,
        desk=assistant.desk,
        relay=assistant.deliveries,
        notifiers=assistant.notifiers,
    )
    context.extras[EXTRAS_KEY] = services

    async def deliver(_: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(services.relay.run(interval=DELIVERY_INTERVAL_SECONDS))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

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
