"""Retention: expired conversation records and closed tickets go; open tickets stay."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError

from bot.handoff.incident import ConversationKey, Conversations, Draft
from bot.handoff.lifecycle import SupportQueue
from bot.handoff.ports import Reporter
from bot.handoff.submissions import Handoff
from bot.handoff.tickets import AnswerRecord, IncidentReport, Rating
from bot.privacy.retention import purge, purge_daily, purge_with
from bot.settings import Settings
from bot.store import Store
from bot.store.deliveries import DeliveryLedger
from bot.store.schema import (
    AnswerRow,
    ProcessedEventRow,
    RatingRow,
    TicketEventRow,
    TicketRow,
)
from tests.bot.fakes import FakeClock

DAYS = {"conversation_days": 90, "closed_ticket_days": 365}


def count(store: Store, model: type) -> int:
    with store.transaction() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def answer(handoff: Handoff, question: str = "can I use copilot?") -> str:
    record = AnswerRecord(
        platform="slack",
        asker_key="k" * 64,
        question=question,
        answer="Yes [1].",
        status="answered",
        citations=(),
    )
    return handoff.record_answer(record)


def test_purge_deletes_expired_records_and_closed_tickets_only(
    store: Store, handoff: Handoff, queue: SupportQueue, clock: FakeClock, reporter: Reporter
) -> None:
    rated = answer(handoff)
    handoff.submit_feedback(Rating(reporter=reporter, helpful=True, answer_id=rated))
    unhelpful = handoff.submit_feedback(
        Rating(reporter=reporter, helpful=False, answer_id=rated, comment="too vague")
    )
    assert unhelpful.ticket is not None
    queue.comment(unhelpful.ticket.reference, "agent@x", "rewording section 3")
    queue.resolve(unhelpful.ticket.reference, "agent@x", "Section 3 now says it plainly.")
    incident = handoff.report_incident(IncidentReport(reporter=reporter, what_happened="leak"))
    drafts = Conversations(store, timeout=timedelta(minutes=60), clock=clock)
    drafts.save(ConversationKey("slack", "D1", "U123"), Draft.start("report"))

    clock.advance(days=100)  # conversation records expired, the closed ticket not yet
    first = purge(store, now=clock(), **DAYS)
    assert first["answers"] == 1 and first["ratings"] == 1 and first["conversations"] == 1
    assert first["question_log"] == 1 and first["tickets"] == 0
    assert count(store, RatingRow) == 1  # the unhelpful rating lives as long as its ticket

    clock.advance(days=300)  # the resolved ticket is now past 365 days
    second = purge(store, now=clock(), **DAYS)
    assert second["tickets"] == 1 and second["ticket_events"] >= 3
    assert second["ticket_comments"] == 1 and second["ratings"] == 1
    with store.transaction() as session:
        assert session.scalars(sa.select(TicketRow.reference)).all() == [incident.ticket.reference]
    assert count(store, AnswerRow) == 0
    assert set(purge(store, now=clock(), **DAYS).values()) == {0}


def test_the_audit_trail_stays_append_only_outside_a_purge(
    store: Store, handoff: Handoff, reporter: Reporter
) -> None:
    handoff.report_incident(IncidentReport(reporter=reporter, what_happened="leak"))
    with pytest.raises(DatabaseError, match="append-only"), store.transaction() as session:
        session.execute(sa.delete(TicketEventRow))
    with pytest.raises(DatabaseError, match="append-only"), store.transaction() as session:
        session.execute(sa.update(TicketEventRow).values(detail="rewritten"))


async def test_the_daily_task_purges_at_start_and_keeps_running(
    store: Store, store_settings: Settings, handoff: Handoff, clock: FakeClock
) -> None:
    clock.advance(days=-200)  # an answer recorded 200 days ago
    answer(handoff)
    task = asyncio.create_task(purge_daily(store, store_settings, interval_seconds=3600))
    for _ in range(100):
        await asyncio.sleep(0.05)
        if count(store, AnswerRow) == 0:
            break
    assert not task.done()
    task.cancel()
    assert count(store, AnswerRow) == 0


def test_the_server_purge_also_prunes_old_delivery_claims(
    store: Store, store_settings: Settings
) -> None:
    with store.engine.begin() as connection:
        connection.execute(
            sa.insert(ProcessedEventRow.__table__).values(
                platform="slack",
                event_id="Ev-old",
                claimed_at=datetime.now(UTC) - timedelta(days=5),
            )
        )
    assert DeliveryLedger(store).claim("slack", "Ev-new")

    counts = purge_with(store, store_settings)

    assert counts["deliveries"] == 1
    assert DeliveryLedger(store).claim("slack", "Ev-old") is True
    assert DeliveryLedger(store).claim("slack", "Ev-new") is False
