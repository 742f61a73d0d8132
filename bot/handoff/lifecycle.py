"""The hand-off service, support staff's side: the queue of tickets and its lifecycle.

``open -> claimed -> resolved``, and ``resolved -> claimed`` (or ``open``) on reopen; a
ticket can also be resolved straight from ``open``. Every change appends to the audit trail
and queues notifications in the same transaction: the reporter hears when their ticket is
claimed, resolved or reopened; the support channel's card is updated on every change.
Synchronous like :class:`bot.handoff.submissions.Handoff`;
:class:`bot.handoff.desk.SupportDesk` is its async face.
"""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta
from typing import Any, TextIO

import sqlalchemy as sa

from bot.errors import ClaimConflict, InvalidInput, InvalidTransition
from bot.handoff.gaps import LoggedQuestion, group_questions
from bot.handoff.records import (
    TicketService,
    add_event,
    find_ticket,
    queue_notification,
    ticket_of,
    ticket_trail,
)
from bot.handoff.submissions import MAX_NAME_CHARS, checked_text, raise_if
from bot.handoff.tickets import (
    Comment,
    Gap,
    Severity,
    Ticket,
    TicketDetail,
    TicketEvent,
    TicketKind,
    TicketPage,
    TicketQuery,
    TicketState,
)
from bot.store.schema import CommentRow, QuestionLogRow, RatingRow, TicketRow
from knowledge.embedding import Embedder

OPEN, CLAIMED, RESOLVED = (s.value for s in TicketState)
MAX_PAGE = 500
EXPORT_COLUMNS = (
    "reference", "kind", "state", "severity", "title", "body", "reporter_platform",
    "reporter_user_id", "assignee", "created_at", "ack_due_at", "overdue", "claimed_at",
    "resolved_at", "resolution",
    # Added later, at the end (the CSV grows by new columns only): an incident's fields,
    # and the internal comments, one per line.
    "tool", "data_involved", "happened_at", "discovered_at", "contained", "contact",
    "comments",
)  # fmt: skip
SORTS = ("newest", "oldest", "due", "severity")
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


class SupportQueue(TicketService):
    """Claim, comment, set severity, resolve, reopen; list, show, export; knowledge gaps."""

    def claim(self, reference: str, actor: str) -> Ticket:
        """Take an open ticket. Of two simultaneous claims exactly one wins; the other gets
        :class:`ClaimConflict` naming the winner. Claiming your own ticket again is a no-op."""
        actor = _actor(actor)
        with self.store.transaction() as session:
            row = find_ticket(session, reference, lock=True)
            if row.state == CLAIMED and row.assignee == actor:
                return ticket_of(row, self.clock())
            _check_claimable(row)
            now = self.clock()
            # On PostgreSQL the row lock above already serialises claims; the condition
            # makes SQLite, which has no row locks, just as safe.
            won = session.execute(
                sa.update(TicketRow)
                .where(TicketRow.id == row.id, TicketRow.state == OPEN)
                .values(state=CLAIMED, assignee=actor, claimed_at=now, updated_at=now)
                .returning(TicketRow.id)
                .execution_options(synchronize_session=False)
            ).first()
            session.refresh(row)
            if won is None:
                if row.state == CLAIMED and row.assignee == actor:
                    return ticket_of(row, now)
                _check_claimable(row)
            add_event(session, row, now, actor, "claimed", OPEN, CLAIMED)
            queue_notification(
                session,
                row,
                now,
                "claimed",
                f"{row.reference}: {actor} from the support team is now handling your "
                f"{TicketKind(row.kind).label} and will contact you if they need anything.",
            )
            return ticket_of(row, now)

    def comment(self, reference: str, actor: str, text: str) -> Ticket:
        """Add an internal comment; it is not sent to the reporter."""
        actor = _actor(actor)
        errors: dict[str, str] = {}
        text = checked_text("text", text, errors, max_chars=self.max_chars, required=True)
        raise_if(errors)
        with self.store.transaction() as session:
            row = find_ticket(session, reference, lock=True)
            now = self.clock()
            session.add(CommentRow(ticket_id=row.id, at=now, author=actor, text=text))
            row.updated_at = now
            add_event(session, row, now, actor, "commented", row.state, row.state, text)
            queue_notification(session, row, now, "commented")
            return ticket_of(row, now)

    def set_severity(self, reference: str, level: str, actor: str) -> Ticket:
        """Change the severity (low, medium, high, critical)."""
        actor = _actor(actor)
        try:
            severity = Severity(level.strip().lower())
        except ValueError:
            choices = ", ".join(s.value for s in Severity)
            raise InvalidInput({"severity": f"{level!r} is not one of {choices}"}) from None
        with self.store.transaction() as session:
            row = find_ticket(session, reference, lock=True)
            now = self.clock()
            if row.severity != severity.value:
                before = row.severity
                row.severity, row.updated_at = severity.value, now
                detail = f"{before} -> {severity.value}"
                add_event(session, row, now, actor, "severity", row.state, row.state, detail)
                queue_notification(session, row, now, "severity")
            return ticket_of(row, now)

    def resolve(self, reference: str, actor: str, note: str) -> Ticket:
        """Close a ticket with a resolution note, which is sent to the reporter."""
        actor = _actor(actor)
        errors: dict[str, str] = {}
        note = checked_text("note", note, errors, max_chars=self.max_chars, required=True)
        raise_if(errors)
        with self.store.transaction() as session:
            row = find_ticket(session, reference, lock=True)
            if row.state == RESOLVED:
                raise InvalidTransition(f"{row.reference} is already resolved")
            before, now = row.state, self.clock()
            row.state, row.resolved_at, row.resolution, row.updated_at = RESOLVED, now, note, now
            row.assignee = row.assignee or actor
            add_event(session, row, now, actor, "resolved", before, RESOLVED, note)
            queue_notification(
                session,
                row,
                now,
                "resolved",
                f"{row.reference}: your {TicketKind(row.kind).label} has been resolved. "
                f"Note from the support team: {note}",
            )
            return ticket_of(row, now)

    def reopen(
        self, reference: str, actor: str, *, reason: str = "", keep_assignee: bool = True
    ) -> Ticket:
        """Reopen a resolved ticket: ``claimed`` by its assignee, or ``open`` if it had none
        or ``keep_assignee`` is False (an incident then gets a fresh deadline)."""
        actor = _actor(actor)
        errors: dict[str, str] = {}
        reason = checked_text("reason", reason, errors, max_chars=self.max_chars)
        raise_if(errors)
        with self.store.transaction() as session:
            row = find_ticket(session, reference, lock=True)
            if row.state != RESOLVED:
                raise InvalidTransition(f"{row.reference} is {row.state}, not resolved")
            now = self.clock()
            if keep_assignee and row.assignee:
                row.state = CLAIMED
            else:
                row.state, row.assignee, row.claimed_at = OPEN, None, None
                if row.kind == TicketKind.INCIDENT.value:
                    row.ack_due_at = now + self.ack_after
            row.resolved_at, row.resolution, row.updated_at = None, None, now
            add_event(session, row, now, actor, "reopened", RESOLVED, row.state, reason or None)
            queue_notification(
                session,
                row,
                now,
                "reopened",
                f"{row.reference}: the support team has reopened your "
                f"{TicketKind(row.kind).label}.",
            )
            return ticket_of(row, now)

    def list_tickets(self, query: TicketQuery | None = None) -> TicketPage:
        """One page of the queue in the query's order, with the number of matching tickets.

        Every order pages by keyset: ``next_cursor`` holds the last row's sort key (its id
        alone for newest first, as before), so a page never repeats or skips a ticket when
        tickets are added meanwhile."""
        query = query or TicketQuery()
        if not 1 <= query.limit <= MAX_PAGE:
            raise InvalidInput({"limit": f"must be between 1 and {MAX_PAGE}"})
        if query.sort not in SORTS:
            raise InvalidInput({"sort": f"use one of {', '.join(SORTS)}"})
        now = self.clock()
        conditions = self._conditions(query, now)
        page = sa.select(TicketRow).where(*conditions)
        if query.cursor is not None:
            page = page.where(_after(query.sort, query.cursor))
        with self.store.transaction() as session:
            ordered = page.order_by(*_order(query.sort)).limit(query.limit + 1)
            rows = session.scalars(ordered).all()
            more = len(rows) > query.limit
            if query.cursor is None and not more:
                total = len(rows)  # the whole result is on this page: no COUNT needed
            else:  # the one costly part on a big queue (see bench/results/tickets.md)
                count = sa.select(sa.func.count(TicketRow.id)).where(*conditions)
                total = session.scalar(count) or 0
            tickets = tuple(ticket_of(row, now) for row in rows[: query.limit])
        return TicketPage(
            tickets=tickets,
            total=total,
            next_cursor=_cursor_of(query.sort, rows[query.limit - 1]) if more else None,
        )

    def show(self, reference: str) -> TicketDetail:
        """The ticket with its whole audit trail and comments, oldest first."""
        with self.store.transaction() as session:
            row = find_ticket(session, reference)
            events, comments = ticket_trail(session, row)
            return TicketDetail(
                ticket=ticket_of(row, self.clock()),
                events=tuple(
                    TicketEvent(
                        at=e.at,
                        actor=e.actor,
                        action=e.action,
                        from_state=TicketState(e.from_state) if e.from_state else None,
                        to_state=TicketState(e.to_state) if e.to_state else None,
                        detail=e.detail,
                    )
                    for e in events
                ),
                comments=tuple(Comment(at=c.at, author=c.author, text=c.text) for c in comments),
            )

    def export_csv(self, out: TextIO, query: TicketQuery | None = None) -> int:
        """Write every ticket matching the query's filters as CSV (oldest first); return
        the row count. Cells a spreadsheet would run as a formula get a leading apostrophe:
        the text comes from employees."""
        query = query or TicketQuery()
        writer = csv.writer(out)
        writer.writerow(EXPORT_COLUMNS)
        count = 0
        now = self.clock()
        statement = (
            sa.select(TicketRow)
            .where(*self._conditions(query, now))
            .order_by(TicketRow.id)
            .execution_options(yield_per=1000)
        )
        with self.store.transaction() as session:
            for row in session.scalars(statement):
                data = ticket_of(row, now).as_json()
                data["reporter_platform"] = row.reporter_platform
                data["reporter_user_id"] = row.reporter_user_id
                details = row.details or {}
                for name in EXPORT_COLUMNS[EXPORT_COLUMNS.index("tool") : -1]:
                    data[name] = str(details.get(name) or "")
                notes = session.scalars(
                    sa.select(CommentRow)
                    .where(CommentRow.ticket_id == row.id)
                    .order_by(CommentRow.id)
                ).all()
                data["comments"] = "\n".join(
                    f"{c.author} ({c.at:%Y-%m-%d %H:%M} UTC): {c.text}" for c in notes
                )
                writer.writerow([_cell(data[column]) for column in EXPORT_COLUMNS])
                count += 1
        return count

    def knowledge_gaps(
        self,
        *,
        embedder: Embedder | None = None,
        days: int = 90,
        limit: int = 50,
        max_questions: int = 5000,
    ) -> list[Gap]:
        """Questions answered not_found or rated unhelpful in the last ``days``, grouped by
        similarity (the embedder's vectors if given, else shared words), biggest first."""
        since = self.clock() - timedelta(days=days)
        with self.store.transaction() as session:
            rows = session.execute(
                sa.select(QuestionLogRow.question, QuestionLogRow.reason, QuestionLogRow.created_at)
                .where(QuestionLogRow.created_at >= since)
                .order_by(QuestionLogRow.id.desc())
                .limit(max_questions)
            ).all()
        entries = [LoggedQuestion(question=q, reason=r, at=at) for q, r, at in rows]
        return group_questions(entries, embedder=embedder)[:limit]

    def feedback_per_day(
        self, *, days: int, today: date | None = None
    ) -> dict[date, tuple[int, int]]:
        """(helpful, unhelpful) ratings per UTC day of the last ``days`` days."""
        today = today or self.clock().date()
        start = datetime.combine(today - timedelta(days=days - 1), datetime.min.time(), UTC)
        with self.store.transaction() as session:
            rows = session.execute(
                sa.select(RatingRow.created_at, RatingRow.helpful).where(
                    RatingRow.created_at >= start
                )
            ).all()
        counts: dict[date, list[int]] = {}
        for at, helpful in rows:
            day = counts.setdefault(at.date(), [0, 0])
            day[0 if helpful else 1] += 1
        return {day: (helpful, unhelpful) for day, (helpful, unhelpful) in counts.items()}

    @staticmethod
    def _conditions(query: TicketQuery, now: datetime) -> list[sa.ColumnElement[bool]]:
        conditions: list[sa.ColumnElement[bool]] = []
        if query.state is not None:
            conditions.append(TicketRow.state == TicketState(query.state).value)
        if query.kind is not None:
            conditions.append(TicketRow.kind == TicketKind(query.kind).value)
        if query.overdue:
            conditions += [TicketRow.state == OPEN, TicketRow.ack_due_at < now]
        if query.severity is not None:
            conditions.append(TicketRow.severity == Severity(query.severity).value)
        if query.assignee is not None:
            conditions.append(
                TicketRow.assignee == query.assignee.strip()
                if query.assignee.strip()
                else TicketRow.assignee.is_(None)
            )
        for word in query.search.split()[:8]:
            pattern = f"%{word.lower()}%"
            conditions.append(
                sa.or_(
                    sa.func.lower(TicketRow.reference).like(pattern),
                    sa.func.lower(TicketRow.title).like(pattern),
                    sa.func.lower(TicketRow.body).like(pattern),
                )
            )
        return conditions or [sa.true()]


def _order(sort: str) -> tuple[sa.ColumnElement[Any], ...]:
    """ORDER BY for a sort name; the id breaks ties so pages are stable."""
    if sort == "oldest":
        return (TicketRow.id.asc(),)
    if sort == "due":  # soonest deadline first; tickets without one last
        return (TicketRow.ack_due_at.is_(None), TicketRow.ack_due_at.asc(), TicketRow.id.desc())
    if sort == "severity":
        return (_severity_rank(), TicketRow.id.desc())
    return (TicketRow.id.desc(),)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_BAD_CURSOR = "use the next_cursor of the previous page, with the same sort"


def _severity_rank() -> sa.ColumnElement[Any]:
    return sa.case(SEVERITY_RANK, value=TicketRow.severity, else_=len(SEVERITY_RANK))


def _cursor_of(sort: str, row: TicketRow) -> str:
    """Where the next page starts: the sort key of the page's last row, and its id."""
    if sort == "oldest":
        return f"oldest.{row.id}"
    if sort == "due":
        due = row.ack_due_at
        if due is None:
            return f"due.none.{row.id}"
        if due.tzinfo is None:
            due = due.replace(tzinfo=UTC)
        return f"due.{(due - _EPOCH) // timedelta(microseconds=1)}.{row.id}"
    if sort == "severity":
        return f"severity.{SEVERITY_RANK.get(row.severity, len(SEVERITY_RANK))}.{row.id}"
    return str(row.id)


def _after(sort: str, cursor: str) -> sa.ColumnElement[bool]:
    """The rows that come after the cursor's row in ``sort`` order (see :func:`_order`)."""
    parts = cursor.split(".")
    if sort == "newest" and cursor.isdigit():
        return TicketRow.id < int(cursor)
    if parts[0] != sort or not parts[-1].isdigit():
        raise InvalidInput({"cursor": _BAD_CURSOR})
    last = int(parts[-1])
    if sort == "oldest" and len(parts) == 2:
        return TicketRow.id > last
    if sort == "severity" and len(parts) == 3 and parts[1].isdigit():
        rank, key = _severity_rank(), int(parts[1])
        return sa.or_(rank > key, sa.and_(rank == key, TicketRow.id < last))
    if sort == "due" and len(parts) == 3:
        due = TicketRow.ack_due_at
        if parts[1] == "none":  # among the tickets without a deadline, listed last
            return sa.and_(due.is_(None), TicketRow.id < last)
        if parts[1].lstrip("-").isdigit():
            moment = _EPOCH + timedelta(microseconds=int(parts[1]))
            return sa.or_(
                due.is_(None),
                due > moment,
                sa.and_(due == moment, TicketRow.id < last),
            )
    raise InvalidInput({"cursor": _BAD_CURSOR})


def _actor(actor: str) -> str:
    actor = (actor or "").strip()
    if not actor or len(actor) > MAX_NAME_CHARS:
        raise InvalidInput({"actor": f"give the staff member's name (1-{MAX_NAME_CHARS} chars)"})
    return actor


def _check_claimable(row: TicketRow) -> None:
    if row.state == RESOLVED:
        raise InvalidTransition(
            f"{row.reference} is resolved; reopen it first "
            f"(policybot tickets reopen {row.reference})"
        )
    if row.state == CLAIMED:
        since = row.claimed_at.strftime("%Y-%m-%d %H:%M UTC") if row.claimed_at else "earlier"
        raise ClaimConflict(
            f"{row.reference} is already claimed by {row.assignee} (since {since}); "
            "ask them before taking it over",
            assignee=row.assignee,
        )


def _cell(value: object) -> object:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
