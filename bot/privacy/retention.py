"""Retention: what the bot keeps about conversations and tickets is deleted when it expires.

Periods come from :class:`bot.settings.Settings` (``POLICYBOT_RETENTION_CONVERSATION_DAYS``,
``POLICYBOT_RETENTION_CLOSED_TICKET_DAYS``). :func:`purge` is the one purge: ``policybot
privacy purge``, ``policybot db prune`` and the server's daily task run it; each call is
idempotent, so several server processes may run it at once. Open and claimed tickets are
never purged, however old. It also forgets the bookkeeping that only matters for a while:
platform delivery claims and finished notifications.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.handoff.outbox import MAX_ATTEMPTS
from bot.settings import Settings
from bot.store import Store
from bot.store.schema import (
    AdmissionRow,
    AnswerRow,
    CommentRow,
    ConversationRow,
    OutboxRow,
    ProcessedEventRow,
    QuestionLogRow,
    RatingRow,
    StaleNoteRow,
    TicketCardRow,
    TicketEventRow,
    TicketPurgeRow,
    TicketRow,
)

log = logging.getLogger(__name__)

# Slack retries within minutes and Teams within 15 seconds: two days is ample.
DELIVERY_CLAIM_DAYS = 2
# A delivered (or given-up) notification is kept a month for support questions.
FINISHED_NOTIFICATION_DAYS = 30

BATCH = 500
DAY_SECONDS = 24 * 60 * 60


def deleted_count(session: Session, statement: sa.Delete) -> int:
    """Rows ``statement`` deleted."""
    return cast("sa.CursorResult[Any]", session.execute(statement)).rowcount


def delete_tickets(session: Session, ticket_ids: Sequence[int]) -> dict[str, int]:
    """Delete tickets with their audit trail, comments, notifications and ratings.

    The audit trail is append-only at the database: its trigger lets a ticket's events go
    only while the ticket is listed in ``ticket_purges``, which this function fills and
    empties inside the caller's transaction.
    """
    counts = dict.fromkeys(
        ("tickets", "ticket_events", "ticket_comments", "notifications", "ratings"), 0
    )
    for start in range(0, len(ticket_ids), BATCH):
        ids = list(ticket_ids[start : start + BATCH])
        session.execute(sa.insert(TicketPurgeRow), [{"ticket_id": i} for i in ids])
        for name, model in (
            ("ticket_events", TicketEventRow),
            ("ticket_comments", CommentRow),
            ("notifications", OutboxRow),
            ("ratings", RatingRow),
        ):
            counts[name] += deleted_count(session, sa.delete(model).where(model.ticket_id.in_(ids)))
        references = sa.select(TicketRow.reference).where(TicketRow.id.in_(ids))
        session.execute(sa.delete(TicketCardRow).where(TicketCardRow.reference.in_(references)))
        counts["tickets"] += deleted_count(
            session, sa.delete(TicketRow).where(TicketRow.id.in_(ids))
        )
        session.execute(sa.delete(TicketPurgeRow).where(TicketPurgeRow.ticket_id.in_(ids)))
    return counts


def purge(
    store: Store,
    *,
    conversation_days: int,
    closed_ticket_days: int,
    now: datetime | None = None,
) -> dict[str, int]:
    """Delete expired conversation records and closed tickets; return counts per kind.

    Conversation records are answers (with the questions asked), the question log behind
    the knowledge-gaps list, ratings that opened no ticket, and incident-report drafts
    (also as soon as they expire). A closed ticket is a resolved one, counted from when it
    was resolved; its ratings go with it.
    """
    now = now or datetime.now(UTC)
    conversations = now - timedelta(days=conversation_days)
    tickets = now - timedelta(days=closed_ticket_days)
    counts: dict[str, int] = {}
    with store.transaction() as session:
        # A note about a stale answer, and the answer's way back to its asker
        # (``AnswerRow.reply_to``), go with the answer.
        counts["stale_notes"] = deleted_count(
            session,
            sa.delete(StaleNoteRow).where(
                StaleNoteRow.answer_id.in_(
                    sa.select(AnswerRow.id).where(AnswerRow.created_at < conversations)
                )
            ),
        )
        counts["answers"] = deleted_count(
            session, sa.delete(AnswerRow).where(AnswerRow.created_at < conversations)
        )
        counts["question_log"] = deleted_count(
            session, sa.delete(QuestionLogRow).where(QuestionLogRow.created_at < conversations)
        )
        counts["conversations"] = deleted_count(
            session,
            sa.delete(ConversationRow).where(
                sa.or_(ConversationRow.updated_at < conversations, ConversationRow.expires_at < now)
            ),
        )
        counts["ratings"] = deleted_count(
            session,
            sa.delete(RatingRow).where(
                RatingRow.ticket_id.is_(None), RatingRow.created_at < conversations
            ),
        )
        counts["deliveries"] = deleted_count(
            session,
            sa.delete(ProcessedEventRow).where(
                ProcessedEventRow.claimed_at < now - timedelta(days=DELIVERY_CLAIM_DAYS)
            ),
        )
        counts["admissions"] = deleted_count(
            session,
            sa.delete(AdmissionRow).where(
                AdmissionRow.window_start < now - timedelta(days=DELIVERY_CLAIM_DAYS)
            ),
        )
        finished = now - timedelta(days=FINISHED_NOTIFICATION_DAYS)
        counts["notifications"] = deleted_count(
            session,
            sa.delete(OutboxRow).where(
                sa.or_(
                    OutboxRow.delivered_at < finished,
                    sa.and_(
                        OutboxRow.delivered_at.is_(None),
                        OutboxRow.attempts >= MAX_ATTEMPTS,
                        OutboxRow.created_at < finished,
                    ),
                )
            ),
        )
        closed = session.scalars(
            sa.select(TicketRow.id).where(
                TicketRow.state == "resolved", TicketRow.resolved_at < tickets
            )
        ).all()
        for name, count in delete_tickets(session, closed).items():
            counts[name] = counts.get(name, 0) + count
    return counts


def purge_with(store: Store, settings: Settings) -> dict[str, int]:
    """:func:`purge` with the configured periods."""
    return purge(
        store,
        conversation_days=settings.retention_conversation_days,
        closed_ticket_days=settings.retention_closed_ticket_days,
    )


async def purge_daily(
    store: Store, settings: Settings, *, interval_seconds: float = DAY_SECONDS
) -> None:
    """Run :func:`purge_with` now and then every ``interval_seconds`` until cancelled.

    A failed run is logged and retried at the next interval; it never stops the server.
    """
    while True:
        try:
            counts = await asyncio.to_thread(purge_with, store, settings)
            log.info("retention purge: %s", counts)
        except Exception:  # a database hiccup must not end the daily task
            log.exception("retention purge failed; retrying in %.0f s", interval_seconds)
        await asyncio.sleep(interval_seconds)
