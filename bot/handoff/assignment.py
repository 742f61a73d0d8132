"""Staff work on a ticket beyond its lifecycle: replying to the reporter, and changing who
handles it (reassign, unassign).

A reply goes to the reporter on the platform they used, through the outbox like every
other notification, and is kept in the audit trail with its text (the web console shows a
visitor the replies to their own requests from there). Reassigning keeps the ticket
claimed; unassigning puts it back in the queue, open, with a fresh acknowledgement
deadline for an incident.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from bot.errors import InvalidInput, InvalidTransition
from bot.handoff.records import add_event, find_ticket, queue_notification, ticket_of, utc_now
from bot.handoff.submissions import MAX_NAME_CHARS, checked_text, raise_if
from bot.handoff.tickets import Ticket, TicketKind, TicketState
from bot.store import Store

OPEN, CLAIMED, RESOLVED = (s.value for s in TicketState)
REPLIED = "replied"


class Assignment:
    """Reply, reassign and unassign, each one transaction with its audit line."""

    def __init__(
        self,
        store: Store,
        *,
        max_chars: int,
        ack_after: timedelta,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.max_chars = max_chars
        self.ack_after = ack_after
        self.clock = clock

    def reply(self, reference: str, actor: str, text: str) -> Ticket:
        """Send ``text`` to the reporter (not for a resolved ticket: reopen it first)."""
        actor = _name("actor", actor)
        errors: dict[str, str] = {}
        text = checked_text("text", text, errors, max_chars=self.max_chars, required=True)
        raise_if(errors)
        with self.store.transaction() as session:
            row = find_ticket(session, reference, lock=True)
            if row.state == RESOLVED:
                raise InvalidTransition(f"{row.reference} is resolved; reopen it to reply")
            now = self.clock()
            row.updated_at = now
            add_event(session, row, now, actor, REPLIED, row.state, row.state, text)
            queue_notification(
                session,
                row,
                now,
                REPLIED,
                f"{row.reference}: {actor} from the support team replied about your "
                f"{TicketKind(row.kind).label}: {text}",
            )
            return ticket_of(row, now)

    def reassign(self, reference: str, actor: str, assignee: str) -> Ticket:
        """Hand the ticket to ``assignee`` (it becomes claimed by them)."""
        actor = _name("actor", actor)
        assignee = _name("assignee", assignee)
        with self.store.transaction() as session:
            row = find_ticket(session, reference, lock=True)
            if row.state == RESOLVED:
                raise InvalidTransition(f"{row.reference} is resolved; reopen it first")
            if row.assignee == assignee:
                return ticket_of(row, self.clock())
            now = self.clock()
            before, previous = row.state, row.assignee
            row.state, row.assignee, row.updated_at = CLAIMED, assignee, now
            row.claimed_at = row.claimed_at or now
            detail = f"{previous or 'nobody'} -> {assignee}"
            add_event(session, row, now, actor, "reassigned", before, CLAIMED, detail)
            queue_notification(session, row, now, "reassigned")
            return ticket_of(row, now)

    def unassign(self, reference: str, actor: str) -> Ticket:
        """Put a claimed ticket back in the queue for anyone to claim."""
        actor = _name("actor", actor)
        with self.store.transaction() as session:
            row = find_ticket(session, reference, lock=True)
            if row.state != CLAIMED:
                raise InvalidTransition(f"{row.reference} is {row.state}, not claimed")
            now = self.clock()
            previous = row.assignee
            row.state, row.assignee, row.claimed_at, row.updated_at = OPEN, None, None, now
            if row.kind == TicketKind.INCIDENT.value:
                row.ack_due_at = now + self.ack_after
            add_event(session, row, now, actor, "unassigned", CLAIMED, OPEN, previous)
            queue_notification(session, row, now, "unassigned")
            return ticket_of(row, now)


def _name(field: str, value: str) -> str:
    value = (value or "").strip()
    if not value or len(value) > MAX_NAME_CHARS:
        raise InvalidInput({field: f"give the staff member's name (1-{MAX_NAME_CHARS} chars)"})
    return value
