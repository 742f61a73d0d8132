"""The hand-off service, employees' side: incident reports, feedback and escalations.

Synchronous on purpose (SQLAlchemy sessions): the async side (:class:`bot.assistant.Assistant`)
runs it in worker threads. Each call is one transaction, so nothing is ever half-written;
the notifications it decides on are written to the outbox in that same transaction and
delivered afterwards by :mod:`bot.handoff.outbox`. The staff side is
:class:`bot.handoff.lifecycle.SupportQueue`.

Every free-text value is checked (not empty where required, at most
``Settings.ticket_field_max_chars``) and passed through :func:`redact_text` before it is
stored, so what employees type never reaches the database unredacted.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.errors import InvalidInput
from bot.handoff.incident_form import INCIDENT_FIELDS
from bot.handoff.ports import Reporter
from bot.handoff.records import NewTicket, TicketService, insert_ticket, ticket_of
from bot.handoff.tickets import (
    AnswerRecord,
    Escalation,
    GeneralFeedback,
    IncidentReport,
    Rating,
    RatingReceipt,
    Severity,
    Submitted,
    Ticket,
    TicketKind,
)
from bot.limits import MAX_NAME_CHARS
from bot.privacy.detection import redact
from bot.store.schema import AnswerRow, QuestionLogRow, RatingRow, TicketRow

log = logging.getLogger(__name__)


def redact_text(text: str) -> str:
    """The one seam where stored text meets the privacy guard (``detection.redact``).

    Returns the text with personal identifiers replaced by placeholders such as ``[HKID]``.
    """
    return redact(text).text


def checked_text(
    name: str,
    value: str | None,
    errors: dict[str, str],
    *,
    max_chars: int,
    required: bool = False,
) -> str:
    """``value`` stripped and redacted; a problem is added to ``errors`` under ``name``."""
    text = (value or "").strip()
    if required and not text:
        errors[name] = "is empty; please fill it in"
    elif len(text) > max_chars:
        errors[name] = f"is {len(text):,} characters; the limit is {max_chars:,}"
        return ""
    return redact_text(text) if text else ""


def raise_if(errors: dict[str, str]) -> None:
    if errors:
        raise InvalidInput(errors)


class Handoff(TicketService):
    """What employees submit, on one :class:`Store`; see the module docstring."""

    def report_incident(self, report: IncidentReport) -> Submitted:
        """Open an incident ticket: severity high, acknowledgement due in ``ack_after``."""
        errors: dict[str, str] = {}
        values = {
            name: self._text(name, getattr(report, name), errors, required=name == "what_happened")
            for name in INCIDENT_FIELDS
        }
        _check_reporter(report.reporter, errors)
        raise_if(errors)
        tool = values["tool"]
        return self._submit(
            NewTicket(
                TicketKind.INCIDENT,
                report.reporter,
                title=f"AI incident{f' ({tool})' if tool else ''}: {values['what_happened']}",
                body=values["what_happened"],
                details={k: v for k, v in values.items() if k != "what_happened"},
                severity=Severity.HIGH,
                key=report.idempotency_key,
            )
        )

    def general_feedback(self, feedback: GeneralFeedback) -> Submitted:
        """Queue feedback on the policy or the bot ("the policy should allow ...")."""
        errors: dict[str, str] = {}
        text = self._text("text", feedback.text, errors, required=True)
        _check_reporter(feedback.reporter, errors)
        raise_if(errors)
        return self._submit(
            NewTicket(
                TicketKind.FEEDBACK,
                feedback.reporter,
                title=f"Feedback: {text}",
                body=text,
                details={"source": "general"},
                severity=Severity.LOW,
                key=feedback.idempotency_key,
            )
        )

    def escalate(self, escalation: Escalation) -> Submitted:
        """Pass a question to a person with the bot's attempt (from ``answer_id`` if known)."""
        errors: dict[str, str] = {}
        note = self._text("note", escalation.note, errors)
        stored = self._stored_answer(escalation.answer_id, None, None)
        if stored is not None:
            question, answer, status = stored.question, stored.answer, stored.status
            citations: list[dict[str, Any]] = stored.citations
        elif escalation.answer_id and not escalation.question.strip():
            raise InvalidInput({"answer_id": "matches no stored answer; give the question instead"})
        else:
            question = self._text("question", escalation.question, errors, required=True)
            answer = self._text("answer", escalation.answer, errors)
            status = "answered" if answer else "unknown"
            citations = [c.as_json() for c in escalation.citations]
        _check_reporter(escalation.reporter, errors)
        raise_if(errors)
        answer_id = stored.id if stored is not None else None
        return self._submit(
            NewTicket(
                TicketKind.ESCALATION,
                escalation.reporter,
                title=f"Question: {question}",
                body=question,
                details={
                    "question": question,
                    "answer": answer,
                    "answer_status": status,
                    "citations": citations,
                    "note": note,
                    "answer_id": answer_id,
                },
                severity=Severity.MEDIUM,
                key=escalation.idempotency_key,
                answer_id=answer_id,
            )
        )

    def submit_feedback(self, rating: Rating) -> RatingReceipt:
        """Record a rating. A negative one also queues a feedback ticket with the question,
        the answer and its citations, and logs the question as a knowledge gap."""
        errors: dict[str, str] = {}
        comment = self._text("comment", rating.comment, errors)
        _check_reporter(rating.reporter, errors)
        stored = self._stored_answer(rating.answer_id, rating.reporter.platform, rating.message_ref)
        question = ""
        if stored is None:
            question = self._text("question", rating.question, errors)
            if not question and "question" not in errors:
                errors["answer_id"] = (
                    "matches no stored answer (it may be older than the feedback window); "
                    "give the question instead"
                )
        raise_if(errors)
        key = rating.idempotency_key
        if key is not None and (existing := self._rating_by_key(key)) is not None:
            return existing
        try:
            with self.store.transaction() as session:
                now = self.clock()
                row = RatingRow(
                    created_at=now,
                    answer_id=stored.id if stored else None,
                    helpful=rating.helpful,
                    comment=comment,
                    question=stored.question if stored else question,
                    answer=stored.answer if stored else "",
                    citations=stored.citations if stored else [],
                    platform=rating.reporter.platform,
                    user_id=rating.reporter.user_id,
                    idempotency_key=key,
                )
                ticket = None
                if not rating.helpful:
                    new = NewTicket(
                        TicketKind.FEEDBACK,
                        rating.reporter,
                        title=f"Not helpful: {row.question}",
                        body=comment or "(no comment)",
                        details={
                            "source": "rating",
                            "question": row.question,
                            "answer": row.answer,
                            "answer_status": stored.status if stored else "unknown",
                            "citations": row.citations,
                            "comment": comment,
                            "answer_id": row.answer_id,
                        },
                        severity=Severity.LOW,
                        answer_id=row.answer_id,
                    )
                    ticket_row = insert_ticket(
                        self.store, session, new, now=now, ack_after=self.ack_after
                    )
                    row.ticket_id = ticket_row.id
                    session.add(
                        QuestionLogRow(
                            created_at=now,
                            reason="unhelpful",
                            question=row.question,
                            platform=rating.reporter.platform,
                            answer_id=row.answer_id,
                        )
                    )
                    ticket = ticket_of(ticket_row, now)
                session.add(row)
        except IntegrityError:
            if key is None or (existing := self._rating_by_key(key)) is None:
                raise
            return existing
        return RatingReceipt(helpful=rating.helpful, ticket=ticket, created=True)

    def record_answer(self, record: AnswerRecord) -> str:
        """Keep an answer so feedback can refer to it; a not_found one is also logged as a
        knowledge gap. Returns the answer id that replies carry (``Reply.answer_id``)."""
        answer_id = uuid.uuid4().hex
        question = redact_text(record.question.strip()[: self.max_chars])
        with self.store.transaction() as session:
            now = self.clock()
            session.add(
                AnswerRow(
                    id=answer_id,
                    created_at=now,
                    platform=record.platform,
                    asker_key=record.asker_key,
                    question=question,
                    answer=record.answer,
                    status=record.status,
                    citations=[c.as_json() for c in record.citations],
                    # Only an answer that cited something can go stale, so only its asker
                    # may ever need the way back.
                    reply_to=record.reply_to if record.citations else None,
                )
            )
            if record.status == "not_found":
                session.add(
                    QuestionLogRow(
                        created_at=now,
                        reason="not_found",
                        question=question,
                        platform=record.platform,
                        answer_id=answer_id,
                    )
                )
        return answer_id

    def link_answer(self, answer_id: str, *, platform: str, message_ref: str) -> None:
        """Remember the platform's id of the message that carried an answer (e.g. the Teams
        activity id), for feedback that names only that message."""
        with self.store.transaction() as session:
            session.execute(
                sa.update(AnswerRow)
                .where(AnswerRow.id == answer_id, AnswerRow.platform == platform)
                .values(message_ref=message_ref[:MAX_NAME_CHARS])
            )

    def last_answer_id(self, asker_key: str) -> str | None:
        """The most recent stored answer for this asker (see ``AnswerRow.asker_key``)."""
        with self.store.transaction() as session:
            return session.scalar(
                sa.select(AnswerRow.id)
                .where(AnswerRow.asker_key == asker_key)
                .order_by(AnswerRow.created_at.desc())
                .limit(1)
            )

    def tickets_of(self, reporter: Reporter, *, limit: int = 10) -> list[Ticket]:
        """The reporter's own tickets, newest first: all an employee may see of the queue."""
        with self.store.transaction() as session:
            rows = session.scalars(
                sa.select(TicketRow)
                .where(
                    TicketRow.reporter_platform == reporter.platform,
                    TicketRow.reporter_user_id == reporter.user_id,
                )
                .order_by(TicketRow.id.desc())
                .limit(limit)
            ).all()
            now = self.clock()
            return [ticket_of(row, now) for row in rows]

    def _text(
        self, name: str, value: str | None, errors: dict[str, str], *, required: bool = False
    ) -> str:
        return checked_text(name, value, errors, max_chars=self.max_chars, required=required)

    def _submit(self, new: NewTicket) -> Submitted:
        key = new.key
        if key is not None and (existing := self._ticket_by_key(key)) is not None:
            return Submitted(ticket=existing, created=False)
        try:
            with self.store.transaction() as session:
                now = self.clock()
                row = insert_ticket(self.store, session, new, now=now, ack_after=self.ack_after)
                return Submitted(ticket=ticket_of(row, now), created=True)
        except IntegrityError:
            # A concurrent request committed the same key between our check and insert.
            if key is None or (existing := self._ticket_by_key(key)) is None:
                raise
            return Submitted(ticket=existing, created=False)

    def _ticket_by_key(self, key: str) -> Ticket | None:
        with self.store.transaction() as session:
            row = session.scalars(
                sa.select(TicketRow).where(TicketRow.idempotency_key == key)
            ).first()
            return ticket_of(row, self.clock()) if row is not None else None

    def _rating_by_key(self, key: str) -> RatingReceipt | None:
        with self.store.transaction() as session:
            row = session.scalars(
                sa.select(RatingRow).where(RatingRow.idempotency_key == key)
            ).first()
            if row is None:
                return None
            ticket = session.get(TicketRow, row.ticket_id) if row.ticket_id else None
            return RatingReceipt(
                helpful=row.helpful,
                ticket=ticket_of(ticket, self.clock()) if ticket else None,
                created=False,
            )

    def _stored_answer(
        self, answer_id: str | None, platform: str | None, message_ref: str | None
    ) -> AnswerRow | None:
        with self.store.transaction() as session:
            if answer_id:
                return session.get(AnswerRow, answer_id)
            if platform and message_ref:
                return session.scalars(
                    sa.select(AnswerRow).where(
                        AnswerRow.platform == platform, AnswerRow.message_ref == message_ref
                    )
                ).first()
        return None


def _check_reporter(reporter: Reporter, errors: dict[str, str]) -> None:
    if not reporter.platform or len(reporter.platform) > 32:
        errors["reporter.platform"] = "give the platform name (1-32 characters)"
    if not reporter.user_id or len(reporter.user_id) > MAX_NAME_CHARS:
        errors["reporter.user_id"] = f"give the user's id (1-{MAX_NAME_CHARS} characters)"
    if reporter.display_name and len(reporter.display_name) > MAX_NAME_CHARS:
        errors["reporter.display_name"] = f"must be at most {MAX_NAME_CHARS} characters"
