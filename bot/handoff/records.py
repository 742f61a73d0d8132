"""Ticket rows inside a transaction: insert with a reference, audit, queue notifications.

Shared by the employee side (:mod:`bot.handoff.submissions`) and the staff side
(:mod:`bot.handoff.lifecycle`);
each function works in the caller's session, so it commits or rolls back with the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, object_session

from bot.errors import TicketNotFound
from bot.handoff.ports import Reporter
from bot.handoff.tickets import Severity, Ticket, TicketKind, TicketState
from bot.settings import Settings
from bot.store import Store
from bot.store.schema import (
    AnswerRow,
    CommentRow,
    OutboxRow,
    SectionChangeRow,
    TicketEventRow,
    TicketRow,
)
from knowledge.changes import in_force_at

TITLE_CHARS = 120


def utc_now() -> datetime:
    return datetime.now(UTC)


class TicketService:
    """What the employee side (:class:`~bot.handoff.submissions.Handoff`) and the staff side
    (:class:`~bot.handoff.lifecycle.SupportQueue`) share: the store, the incident
    acknowledgement deadline, the length limit of a free-text field, and the clock."""

    def __init__(
        self, store: Store, settings: Settings, *, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self.store = store
        self.ack_after = timedelta(hours=settings.incident_ack_hours)
        self.max_chars = settings.ticket_field_max_chars
        self.clock = clock


@dataclass(frozen=True)
class NewTicket:
    """What an employee's submission puts in a ticket, before it has a reference."""

    kind: TicketKind
    reporter: Reporter
    title: str
    body: str
    severity: Severity
    details: dict[str, Any] = field(default_factory=dict)
    # The submission's idempotency key: a repeat with the same key returns the first ticket.
    key: str | None = None
    # The stored answer the ticket is about (escalations and "not helpful" ratings).
    answer_id: str | None = None


def insert_ticket(
    store: Store, session: Session, new: NewTicket, *, now: datetime, ack_after: timedelta
) -> TicketRow:
    """A new open ticket with its next reference (``INC-2026-0042``), its "created" event
    and the support-channel post; incidents get an acknowledgement deadline."""
    kind, reporter = new.kind, new.reporter
    number = store.next_number(session, kind.prefix, now.year)
    row = TicketRow(
        reference=f"{kind.prefix}-{now.year}-{number:04d}",
        kind=kind.value,
        state=TicketState.OPEN.value,
        severity=new.severity.value,
        title=title_of(new.title),
        body=new.body,
        details=new.details,
        reporter_platform=reporter.platform,
        reporter_user_id=reporter.user_id,
        reporter_ref=reporter.conversation_ref,
        reporter_name=reporter.display_name,
        created_at=now,
        updated_at=now,
        ack_due_at=now + ack_after if kind is TicketKind.INCIDENT else None,
        answer_id=new.answer_id,
        idempotency_key=new.key,
    )
    session.add(row)
    session.flush()
    add_event(session, row, now, f"{reporter.platform}:{reporter.user_id}", "created", None, "open")
    queue_notification(session, row, now, "created")
    return row


def add_event(
    session: Session,
    row: TicketRow,
    now: datetime,
    actor: str,
    action: str,
    before: str | None,
    after: str | None,
    detail: str | None = None,
) -> None:
    """Append one line to the ticket's audit trail."""
    session.add(
        TicketEventRow(
            ticket_id=row.id,
            at=now,
            actor=actor,
            action=action,
            from_state=before,
            to_state=after,
            detail=detail,
        )
    )


def queue_notification(
    session: Session, row: TicketRow, now: datetime, event: str, reporter_text: str | None = None
) -> None:
    """Queue the support-channel update and, if given, the message to the reporter."""
    session.add(
        OutboxRow(
            created_at=now, ticket_id=row.id, event=event, target="support", due_at=now, attempts=0
        )
    )
    if reporter_text:
        session.add(
            OutboxRow(
                created_at=now,
                ticket_id=row.id,
                event=event,
                target="reporter",
                platform=row.reporter_platform,
                text=reporter_text,
                due_at=now,
                attempts=0,
            )
        )


def queue_stale_cards(store: Store, sections: set[tuple[str, str]], now: datetime) -> int:
    """After an ingest changed or removed ``sections`` (document title, section): queue a
    support-card update for each unresolved ticket whose answer cited one of them, so its
    card shows the answer went stale. Returns how many were queued."""
    if not sections:
        return 0
    titles = {title for title, _ in sections}
    queued = 0
    with store.transaction() as session:
        rows = session.execute(
            sa.select(TicketRow, AnswerRow.citations)
            .join(AnswerRow, AnswerRow.id == TicketRow.answer_id)
            .where(TicketRow.state != TicketState.RESOLVED.value)
        ).all()
        for row, citations in rows:
            cited = {
                (str(c.get("document", "")), str(c.get("section", "")))
                for c in citations or []
                if isinstance(c, dict) and c.get("document") in titles
            }
            if cited & sections:
                queue_notification(session, row, now, "stale")
                queued += 1
    return queued


def ticket_trail(
    session: Session, row: TicketRow
) -> tuple[Sequence[TicketEventRow], Sequence[CommentRow]]:
    """The ticket's audit trail and its comments, each oldest first."""
    events = session.scalars(
        sa.select(TicketEventRow)
        .where(TicketEventRow.ticket_id == row.id)
        .order_by(TicketEventRow.id)
    ).all()
    comments = session.scalars(
        sa.select(CommentRow).where(CommentRow.ticket_id == row.id).order_by(CommentRow.id)
    ).all()
    return events, comments


def find_ticket(session: Session, reference: str, *, lock: bool = False) -> TicketRow:
    """The row for a reference (case-insensitive); with ``lock``, held until the transaction
    ends (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite has no row locks)."""
    statement = sa.select(TicketRow).where(TicketRow.reference == reference.strip().upper())
    if lock:
        statement = statement.with_for_update()
    row = session.scalars(statement).first()
    if row is None:
        raise TicketNotFound(
            f"no ticket {reference!r}: references look like INC-2026-0042; "
            "`policybot tickets list` shows them"
        )
    return row


def ticket_of(row: TicketRow, now: datetime) -> Ticket:
    """The plain :class:`Ticket` for a row; ``overdue`` is judged at ``now``."""
    return Ticket(
        reference=row.reference,
        kind=TicketKind(row.kind),
        state=TicketState(row.state),
        severity=Severity(row.severity),
        title=row.title,
        body=row.body,
        details=dict(row.details),
        reporter=Reporter(
            platform=row.reporter_platform,
            user_id=row.reporter_user_id,
            conversation_ref=row.reporter_ref,
            display_name=row.reporter_name,
        ),
        assignee=row.assignee,
        created_at=row.created_at,
        updated_at=row.updated_at,
        ack_due_at=row.ack_due_at,
        claimed_at=row.claimed_at,
        resolved_at=row.resolved_at,
        resolution=row.resolution,
        overdue=bool(
            row.state == TicketState.OPEN.value and row.ack_due_at and row.ack_due_at < now
        ),
        stale_answer=_stale_answer(row, now),
    )


def _stale_answer(row: TicketRow, now: datetime) -> str | None:
    """What changed in a section the ticket's answer cited, for a ticket still being worked
    on; read through the session the row came from (every caller reads tickets in one)."""
    if not row.answer_id or row.state == TicketState.RESOLVED.value:
        return None
    session = object_session(row)
    if session is None:
        return None
    answer = session.get(AnswerRow, row.answer_id)
    if answer is None or not answer.citations:
        return None
    cited = {
        (str(c.get("document", "")), str(c.get("section", "")))
        for c in answer.citations
        if isinstance(c, dict)
    }
    table = SectionChangeRow
    changes = session.scalars(
        sa.select(table)
        .where(
            table.recorded_at > answer.created_at,
            table.change != "added",
            table.title.in_({document for document, _ in cited}),
        )
        .order_by(table.recorded_at.desc(), table.id.desc())
    ).all()
    for change in changes:
        # Only a change in force (effective dates read as UTC days here: the card has no
        # zone) makes the answer stale; an upcoming one still leaves it right until then.
        since = in_force_at(change.recorded_at, change.effective)
        if (change.title, change.section) in cited and answer.created_at < since <= now:
            versions = f" ({change.old_version or '—'} → {change.new_version or '—'})"
            label = change.section or change.title
            return f"{label} {change.change} on {since:%Y-%m-%d}{versions}"
    return None


def title_of(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"
