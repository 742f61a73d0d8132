"""The web platform's notifier and the tickets gauge.

The assistant owns the hand-off wiring (:class:`bot.handoff.services.HandoffServices`) and
the server runs the outbox loop; the console adds its :class:`WebNotifier`: a web visitor
has no chat to push to, so a message for them is marked delivered and they read their
tickets' state on the chat page instead.
"""

from __future__ import annotations

from adapters.metrics import GaugeReader, Labels
from bot.handoff.desk import SupportDesk
from bot.handoff.ports import Notifier, Reporter
from bot.handoff.tickets import TicketQuery, TicketState

PLATFORM = "web"


class WebNotifier(Notifier):
    """Nothing to push: the chat page shows a visitor's tickets when they come back."""

    platform = PLATFORM

    async def notify_reporter(self, reporter: Reporter, text: str) -> None:
        return None

    async def post_ticket(self, ticket: object, *, event: str) -> None:
        return None


def ticket_gauge(desk: SupportDesk) -> GaugeReader:
    """Tickets by state, read from the store at scrape time."""

    async def read() -> dict[Labels, float]:
        counts: dict[Labels, float] = {}
        for state in TicketState:
            page = await desk.list_tickets(TicketQuery(state=state, limit=1))
            counts[(("state", state.value),)] = float(page.total)
        return counts

    return read
