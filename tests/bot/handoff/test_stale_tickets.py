"""An open ticket whose answer cited a section changed since is marked on its card (the
core's view model, the Slack blocks and the Teams card); a resolved one is not."""

from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa

from adapters.slack.cards import ticket_blocks
from adapters.teams import payloads
from bot.handoff.cards import ticket_card
from bot.handoff.lifecycle import SupportQueue
from bot.handoff.outbox import pending_count
from bot.handoff.ports import Reporter
from bot.handoff.records import queue_stale_cards
from bot.handoff.submissions import Handoff
from bot.handoff.tickets import AnswerRecord, Escalation
from bot.models import Citation
from bot.store import Store
from bot.store.schema import OutboxRow
from tests.announce_fixtures import record_changes
from tests.bot.fakes import FakeClock

CITED = Citation(1, "AI Policy", "4.2 Personal data", "2", "ai-policy.md", "Never.", 0.9)


def escalated(handoff: Handoff, reporter: Reporter, citation: Citation = CITED) -> str:
    answer_id = handoff.record_answer(
        AnswerRecord("slack", "k" * 64, "Can I paste names?", "No. [1]", "answered", (citation,))
    )
    return handoff.escalate(Escalation(reporter=reporter, answer_id=answer_id)).ticket.reference


def test_a_ticket_whose_cited_section_changed_is_marked_stale(
    handoff: Handoff, queue: SupportQueue, store: Store, reporter: Reporter, clock: FakeClock
) -> None:
    reference = escalated(handoff, reporter)
    other = escalated(handoff, reporter, Citation(1, "AI Policy", "9 Other", "2", "x", "t", 0.9))
    assert queue.show(reference).ticket.stale_answer is None

    record_changes(
        store,
        ("4.2 Personal data", "changed", "Do not."),
        at=clock() + timedelta(days=1),
        effective="2026-03-03",
    )
    clock.advance(days=1)
    ticket = queue.show(reference).ticket
    assert ticket.stale_answer == "4.2 Personal data changed on 2026-03-03 (2 → 3)"
    assert queue.show(other).ticket.stale_answer is None

    card = ticket_card(ticket)
    assert card.stale_answer == ticket.stale_answer
    slack = json.dumps(ticket_blocks(ticket))
    assert "The answer went stale: 4.2 Personal data changed on 2026-03-03" in slack
    teams = json.dumps(payloads.ticket_card(card))
    assert "The answer went stale: 4.2 Personal data changed" in teams

    # The ingest that recorded the change queues a card update for the cited ticket only.
    before = pending_count(store)
    assert queue_stale_cards(store, {("AI Policy", "4.2 Personal data")}, clock()) == 1
    assert pending_count(store) == before + 1
    with store.engine.connect() as connection:
        event = connection.execute(
            sa.select(OutboxRow.event).order_by(OutboxRow.id.desc()).limit(1)
        ).scalar_one()
    assert event == "stale"

    resolved = queue.resolve(reference, "ada", "Told them the new rule.")
    assert resolved.stale_answer is None and ticket_card(resolved).stale_answer is None
    assert queue_stale_cards(store, {("AI Policy", "4.2 Personal data")}, clock()) == 0


def test_an_upcoming_change_makes_the_answer_stale_only_from_its_date(
    handoff: Handoff, queue: SupportQueue, store: Store, reporter: Reporter, clock: FakeClock
) -> None:
    reference = escalated(handoff, reporter)
    clock.advance(hours=1)
    record_changes(
        store, ("4.2 Personal data", "changed", "Do not."), at=clock(), effective="2026-04-01"
    )
    assert queue.show(reference).ticket.stale_answer is None

    clock.advance(days=30)  # 2026-04-01 09:00: the new version applies
    assert queue.show(reference).ticket.stale_answer == (
        "4.2 Personal data changed on 2026-04-01 (2 → 3)"
    )
