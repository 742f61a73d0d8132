"""Staff work beyond the lifecycle: replying to the reporter, reassigning, unassigning, and
finding tickets (search, sort, filters), the CSV's incident fields and comments."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from bot.errors import InvalidInput, InvalidTransition
from bot.handoff.cards import CONFIRMATIONS, sla_text, ticket_card
from bot.handoff.desk import SupportDesk
from bot.handoff.lifecycle import SupportQueue
from bot.handoff.outbox import Notifiers, OutboxRelay
from bot.handoff.ports import Reporter
from bot.handoff.submissions import Handoff
from bot.handoff.tickets import GeneralFeedback, Rating, Severity, TicketQuery, TicketState
from bot.store import Store
from tests.bot.fakes import FakeClock, RecordingNotifier
from tests.bot.handoff.test_lifecycle import incident


@pytest.fixture
def desk(
    queue: SupportQueue, store: Store, clock: FakeClock
) -> tuple[SupportDesk, RecordingNotifier]:
    notifier = RecordingNotifier(platform="slack")
    notifiers = Notifiers()
    notifiers.register(notifier, support=True)
    return SupportDesk(queue, OutboxRelay(store, notifiers, clock=clock)), notifier


async def test_a_reply_reaches_the_reporter_and_stays_in_the_audit_trail(
    handoff: Handoff,
    desk: tuple[SupportDesk, RecordingNotifier],
    reporter: Reporter,
) -> None:
    support, notifier = desk
    ticket = handoff.report_incident(incident(reporter)).ticket
    await support.reply(ticket.reference, "alice", "Please delete the chat and send a screenshot.")
    assert notifier.to_reporters[-1] == (
        reporter,
        f"{ticket.reference}: alice from the support team replied about your incident "
        "report: Please delete the chat and send a screenshot.",
    )
    await support.comment(ticket.reference, "alice", "Called the vendor.")
    events = (await support.show(ticket.reference)).events
    assert [(e.action, e.detail) for e in events[-2:]] == [
        ("replied", "Please delete the chat and send a screenshot."),
        ("commented", "Called the vendor."),
    ]
    await support.resolve(ticket.reference, "alice", "Done")
    with pytest.raises(InvalidTransition, match="reopen it to reply"):
        await support.reply(ticket.reference, "alice", "one more thing")


async def test_reassign_and_unassign(
    handoff: Handoff,
    desk: tuple[SupportDesk, RecordingNotifier],
    reporter: Reporter,
    clock: FakeClock,
) -> None:
    support, _ = desk
    ticket = handoff.report_incident(incident(reporter)).ticket
    await support.claim(ticket.reference, "alice")
    moved = await support.reassign(ticket.reference, "alice", "bob")
    assert (moved.state, moved.assignee) == (TicketState.CLAIMED, "bob")
    clock.advance(hours=1)
    back = await support.unassign(ticket.reference, "bob")
    assert (back.state, back.assignee) == (TicketState.OPEN, None)
    assert back.ack_due_at == clock.now + timedelta(hours=4)
    actions = [(e.action, e.detail) for e in (await support.show(ticket.reference)).events]
    assert ("reassigned", "alice -> bob") in actions and ("unassigned", "bob") in actions
    assert ticket_card(back).actions[:2] == ticket_card(ticket).actions[:2]


async def test_search_sort_and_filters(
    handoff: Handoff, desk: tuple[SupportDesk, RecordingNotifier], reporter: Reporter, clock
) -> None:
    support, _ = desk
    first = handoff.report_incident(incident(reporter, what_happened="Payroll in Gemini")).ticket
    clock.advance(minutes=5)
    second = handoff.report_incident(incident(reporter, what_happened="Contract in Claude")).ticket
    await support.set_severity(second.reference, "critical", "alice")
    await support.set_severity(first.reference, "low", "alice")
    await support.claim(first.reference, "alice")

    def refs(**query: object) -> list[str]:
        page = support.queue.list_tickets(TicketQuery(**query))  # type: ignore[arg-type]
        return [t.reference for t in page.tickets]

    assert refs(search="payroll") == [first.reference]
    assert refs(search=second.reference.lower()) == [second.reference]
    assert refs(severity=Severity.CRITICAL) == [second.reference]
    assert refs(assignee="alice") == [first.reference]
    assert refs(assignee="") == [second.reference]
    assert refs(sort="oldest") == [first.reference, second.reference]
    assert refs(sort="severity") == [second.reference, first.reference]
    assert refs() == [second.reference, first.reference]


@pytest.mark.parametrize("sort", ["newest", "oldest", "due", "severity"])
async def test_every_sort_order_pages_through_the_whole_queue_once(
    handoff: Handoff,
    desk: tuple[SupportDesk, RecordingNotifier],
    reporter: Reporter,
    clock: FakeClock,
    sort: str,
) -> None:
    support, _ = desk
    severities = ["low", "critical", "medium", "critical", "high", "low", "medium"]
    for n, level in enumerate(severities):
        ticket = handoff.report_incident(incident(reporter, what_happened=f"Case {n}")).ticket
        await support.set_severity(ticket.reference, level, "alice")
        if n % 3 == 0:  # some tickets share a deadline, so the id has to break the tie
            clock.advance(minutes=5)
    for n in range(3):  # feedback has no deadline: listed last when sorting by due time
        handoff.general_feedback(GeneralFeedback(reporter=reporter, text=f"Idea {n}"))
    whole = [t.reference for t in support.queue.list_tickets(TicketQuery(sort=sort)).tickets]
    assert len(whole) == 10

    paged: list[str] = []
    cursor = None
    while True:
        page = support.queue.list_tickets(TicketQuery(sort=sort, limit=3, cursor=cursor))
        assert page.total == 10
        paged += [t.reference for t in page.tickets]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert paged == whole
    if sort == "newest":
        assert support.queue.list_tickets(TicketQuery(limit=3)).next_cursor.isdigit()


async def test_a_cursor_from_another_sort_order_is_refused_clearly(
    handoff: Handoff, desk: tuple[SupportDesk, RecordingNotifier], reporter: Reporter
) -> None:
    support, _ = desk
    for n in range(3):
        handoff.report_incident(incident(reporter, what_happened=f"Case {n}"))
    cursor = support.queue.list_tickets(TicketQuery(sort="severity", limit=1)).next_cursor
    assert cursor is not None
    for sort, bad in (("oldest", cursor), ("severity", "severity.x.1"), ("due", "nonsense")):
        with pytest.raises(InvalidInput, match="next_cursor of the previous page"):
            support.queue.list_tickets(TicketQuery(sort=sort, cursor=bad))


async def test_the_csv_carries_incident_fields_and_comments(
    handoff: Handoff, desk: tuple[SupportDesk, RecordingNotifier], reporter: Reporter
) -> None:
    support, _ = desk
    ticket = handoff.report_incident(incident(reporter)).ticket
    await support.comment(ticket.reference, "alice", "Vendor contacted")
    [row] = list(csv.DictReader(io.StringIO(await support.export_csv())))
    assert row["tool"] == "ChatGPT (free)"
    assert row["contained"] == "no, the chat is still there"
    assert row["comments"].startswith("alice (") and row["comments"].endswith(": Vendor contacted")


def test_a_feedback_ticket_shows_its_comment_once(handoff: Handoff, reporter: Reporter) -> None:
    receipt = handoff.submit_feedback(
        Rating(reporter=reporter, helpful=False, comment="It cited the wrong section", question="q")
    )
    assert receipt.ticket is not None
    card = ticket_card(receipt.ticket)
    assert card.body == "It cited the wrong section"
    assert "comment" not in [f.name for f in card.fields]


def test_confirmations_and_timers_read_as_words(clock: FakeClock) -> None:
    assert CONFIRMATIONS["claim"].startswith("Ticket claimed")
    assert sla_text(clock.now + timedelta(minutes=80), clock.now) == "due in 1 h 20 min"
    assert sla_text(clock.now - timedelta(minutes=35), clock.now) == "overdue by 35 min"
