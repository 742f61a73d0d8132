"""The support desk for async adapters: staff actions from a Slack button, a Teams card or
the web console.

Each call runs :class:`bot.handoff.lifecycle.SupportQueue` in a worker thread (the event loop never
waits on the database) and then delivers the notifications the change queued, so the
reporter hears about a claim as soon as it is made. Errors are the queue's own
(:class:`bot.errors.TicketNotFound`, :class:`bot.errors.ClaimConflict`, ...): adapters show
their message to the staff member.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from datetime import date

from bot.handoff.assignment import Assignment
from bot.handoff.lifecycle import SupportQueue
from bot.handoff.outbox import OutboxRelay
from bot.handoff.tickets import Gap, Ticket, TicketDetail, TicketPage, TicketQuery
from knowledge.embedding import Embedder


class SupportDesk:
    def __init__(
        self, queue: SupportQueue, relay: OutboxRelay, *, embedder: Embedder | None = None
    ) -> None:
        self.queue = queue
        self.relay = relay
        self.embedder = embedder
        self.assignment = Assignment(
            queue.store, max_chars=queue.max_chars, ack_after=queue.ack_after, clock=queue.clock
        )

    async def reply(self, reference: str, actor: str, text: str) -> Ticket:
        """Send the reporter a message on their platform (through the outbox)."""
        return await self._change(self.assignment.reply, reference, actor, text)

    async def reassign(self, reference: str, actor: str, assignee: str) -> Ticket:
        return await self._change(self.assignment.reassign, reference, actor, assignee)

    async def unassign(self, reference: str, actor: str) -> Ticket:
        return await self._change(self.assignment.unassign, reference, actor)

    async def claim(self, reference: str, actor: str) -> Ticket:
        return await self._change(self.queue.claim, reference, actor)

    async def comment(self, reference: str, actor: str, text: str) -> Ticket:
        return await self._change(self.queue.comment, reference, actor, text)

    async def set_severity(self, reference: str, level: str, actor: str) -> Ticket:
        return await self._change(self.queue.set_severity, reference, level, actor)

    async def resolve(self, reference: str, actor: str, note: str) -> Ticket:
        return await self._change(self.queue.resolve, reference, actor, note)

    async def reopen(self, reference: str, actor: str, *, reason: str = "") -> Ticket:
        ticket = await asyncio.to_thread(self.queue.reopen, reference, actor, reason=reason)
        await self.relay.deliver_pending()
        return ticket

    async def list_tickets(self, query: TicketQuery | None = None) -> TicketPage:
        return await asyncio.to_thread(self.queue.list_tickets, query)

    async def show(self, reference: str) -> TicketDetail:
        return await asyncio.to_thread(self.queue.show, reference)

    async def export_csv(self, query: TicketQuery | None = None) -> str:
        def export() -> str:
            out = io.StringIO()
            self.queue.export_csv(out, query)
            return out.getvalue()

        return await asyncio.to_thread(export)

    async def knowledge_gaps(self, *, days: int = 90, limit: int = 50) -> list[Gap]:
        """Grouped with the engine's embedder when the desk has one (:mod:`bot.handoff.gaps`)."""
        return await asyncio.to_thread(
            self.queue.knowledge_gaps, embedder=self.embedder, days=days, limit=limit
        )

    async def feedback_per_day(self, *, days: int) -> dict[date, tuple[int, int]]:
        return await asyncio.to_thread(self.queue.feedback_per_day, days=days)

    async def _change(self, action: Callable[..., Ticket], *args: str) -> Ticket:
        ticket = await asyncio.to_thread(action, *args)
        await self.relay.deliver_pending()
        return ticket
