"""The support queue: lifecycle, audit trail, reporter notifications, claims, listing."""

from __future__ import annotations

import csv
import io
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.errors import ClaimConflict, InvalidInput, InvalidTransition, TicketNotFound
from bot.handoff.desk import SupportDesk
from bot.handoff.lifecycle import SupportQueue
from bot.handoff.outbox import Notifiers, OutboxRelay
from bot.handoff.ports import Reporter
from bot.handoff.submissions import Handoff
from bot.handoff.tickets import (
    GeneralFeedback,
    IncidentReport,
    TicketKind,
    TicketQuery,
    TicketState,
)
from bot.settings import Settings
from bot.store import Store
from tests.bot.fakes import FakeClock, RecordingNotifier


def incident(reporter: Reporter, **fields: str) -> IncidentReport:
    values = {
        "what_happened": "I pasted a customer list into ChatGPT",
        "tool": "ChatGPT (free)",
        "data_involved": "personal data: about 40 names and phone numbers",
        "happened_at": "today 10:15",
        "discovered_at": "today 10:20",
        "contained": "no, the chat is still there",
        "contact": "here",
    }
    values.update(fields)
    return IncidentReport(reporter=reporter, **values)


@pytest.fixture
def desk(
    queue: SupportQueue, store: Store, clock: FakeClock
) -> tuple[SupportDesk, RecordingNotifier]:
    notifier = RecordingNotifier(platform="slack")
    notifiers = Notifiers()
    notifiers.register(notifier, support=True)
    return SupportDesk(queue, OutboxRelay(store, notifiers, clock=clock)), notifier


async def test_full_lifecycle_keeps_an_audit_trail_and_tells_the_reporter(
    handoff: Handoff,
    desk: tuple[SupportDesk, RecordingNotifier],
    reporter: Reporter,
    clock: FakeClock,
) -> None:
    support, notifier = desk
    reference = handoff.report_incident(incident(reporter)).ticket.reference
    assert reference == "INC-2026-0001"

    clock.advance(minutes=20)
    claimed = await support.claim(reference, "alice")
    assert (claimed.state, claimed.assignee, claimed.overdue) == (
        TicketState.CLAIMED,
        "alice",
        False,
    )
    await support.comment(reference, "alice", "Called Mei; the chat is deleted now.")
    await support.set_severity(reference, "critical", "alice")
    clock.advance(hours=1)
    resolved = await support.resolve(reference, "alice", "Chat deleted, customers informed.")
    assert resolved.state is TicketState.RESOLVED and resolved.resolution
    clock.advance(days=1)
    reopened = await support.reopen(reference, "bob", reason="The vendor kept a copy")
    assert (reopened.state, reopened.assignee) == (TicketState.CLAIMED, "alice")
    assert reopened.resolution is None and reopened.resolved_at is None

    detail = await support.show(reference)
    trail = [(e.actor, e.action, e.from_state, e.to_state) for e in detail.events]
    assert trail == [
        ("slack:U123", "created", None, TicketState.OPEN),
        ("alice", "claimed", TicketState.OPEN, TicketState.CLAIMED),
        ("alice", "commented", TicketState.CLAIMED, TicketState.CLAIMED),
        ("alice", "severity", TicketState.CLAIMED, TicketState.CLAIMED),
        ("alice", "resolved", TicketState.CLAIMED, TicketState.RESOLVED),
        ("bob", "reopened", TicketState.RESOLVED, TicketState.CLAIMED),
    ]
    assert detail.events[3].detail == "high -> critical"
    assert detail.events[5].detail == "The vendor kept a copy"
    assert [e.at for e in detail.events] == sorted(e.at for e in detail.events)
    assert [c.text for c in detail.comments] == ["Called Mei; the chat is deleted now."]

    told = [text for who, text in notifier.to_reporters]
    assert all(who == reporter for who, _ in notifier.to_reporters)
    assert len(told) == 3
    assert told[0].startswith(f"{reference}: alice from the support team is now handling")
    assert "has been resolved" in told[1] and "Chat deleted, customers informed." in told[1]
    assert "reopened" in told[2]
    assert [event for _, event, _ in notifier.posts] == [
        "created", "claimed", "commented", "severity", "resolved", "reopened",
    ]  # fmt: skip


def test_claiming_a_claimed_ticket_names_who_has_it(
    handoff: Handoff, queue: SupportQueue, reporter: Reporter
) -> None:
    reference = handoff.report_incident(incident(reporter)).ticket.reference
    queue.claim(reference, "alice")
    assert queue.claim(reference, "alice").assignee == "alice"  # your own claim again: no-op
    with pytest.raises(ClaimConflict, match="already claimed by alice") as caught:
        queue.claim(reference, "bob")
    assert caught.value.assignee == "alice"
    assert [e.action for e in queue.show(reference).events].count("claimed") == 1


def test_a_resolved_ticket_cannot_be_claimed_or_resolved_again(
    handoff: Handoff, queue: SupportQueue, reporter: Reporter
) -> None:
    reference = handoff.report_incident(incident(reporter)).ticket.reference
    queue.resolve(reference, "alice", "Duplicate of INC-2026-0007")
    with pytest.raises(InvalidTransition, match="reopen it first"):
        queue.claim(reference, "bob")
    with pytest.raises(InvalidTransition, match="already resolved"):
        queue.resolve(reference, "bob", "again")
    with pytest.raises(InvalidTransition, match="not resolved"):
        queue.reopen(queue.reopen(reference, "bob").reference, "bob")


def test_reopening_a_ticket_nobody_claimed_puts_it_back_in_the_open_queue_with_a_new_deadline(
    handoff: Handoff, queue: SupportQueue, reporter: Reporter, clock: FakeClock
) -> None:
    reference = handoff.report_incident(incident(reporter)).ticket.reference
    queue.resolve(reference, "alice", "Not an incident")
    ticket = queue.reopen(reference, "bob", keep_assignee=False)
    assert ticket.state is TicketState.OPEN and ticket.assignee is None
    assert ticket.ack_due_at == clock.now + handoff.ack_after


def test_resolve_needs_a_note_and_unknown_references_are_clear_errors(
    handoff: Handoff, queue: SupportQueue, reporter: Reporter
) -> None:
    reference = handoff.report_incident(incident(reporter)).ticket.reference
    with pytest.raises(InvalidInput, match="note: is empty"):
        queue.resolve(reference, "alice", "   ")
    with pytest.raises(InvalidInput, match="severity"):
        queue.set_severity(reference, "urgent", "alice")
    with pytest.raises(InvalidInput, match="actor"):
        queue.claim(reference, " ")
    for action in (
        lambda: queue.claim("INC-2026-9999", "alice"),
        lambda: queue.show("nonsense"),
        lambda: queue.comment("FB-1999-0001", "alice", "hi"),
    ):
        with pytest.raises(TicketNotFound, match="policybot tickets list"):
            action()
    assert queue.show(reference.lower()).ticket.reference == reference
    assert queue.show(reference).ticket.state is TicketState.OPEN


def test_concurrent_claims_have_exactly_one_winner(
    handoff: Handoff, store: Store, store_settings: Settings, reporter: Reporter
) -> None:
    """On PostgreSQL the second claim waits on the row lock; on SQLite on the write lock."""
    references = [handoff.report_incident(incident(reporter)).ticket.reference for _ in range(5)]
    staff = [f"staff{n}" for n in range(6)]
    queue = SupportQueue(store, store_settings)
    for reference in references:
        barrier = threading.Barrier(len(staff))

        def claim(name: str, reference: str = reference, barrier=barrier) -> str:
            barrier.wait()
            try:
                return queue.claim(reference, name).assignee or ""
            except ClaimConflict as exc:
                return f"lost to {exc.assignee}"

        with ThreadPoolExecutor(max_workers=len(staff)) as pool:
            results = list(pool.map(claim, staff))
        winners = [r for r in results if not r.startswith("lost")]
        assert len(winners) == 1, results
        assert results.count(f"lost to {winners[0]}") == len(staff) - 1
        claims = [e for e in queue.show(reference).events if e.action == "claimed"]
        assert [e.actor for e in claims] == winners


def test_list_filters_paginates_and_flags_overdue_incidents(
    handoff: Handoff, queue: SupportQueue, reporter: Reporter, clock: FakeClock
) -> None:
    late = handoff.report_incident(incident(reporter)).ticket.reference
    clock.advance(hours=3)
    handled = handoff.report_incident(incident(reporter)).ticket.reference
    queue.claim(handled, "alice")
    fresh = handoff.report_incident(incident(reporter)).ticket.reference
    for n in range(4):
        handoff.general_feedback(GeneralFeedback(reporter=reporter, text=f"idea {n}"))
    clock.advance(hours=2)  # the first incident is now 5 hours old, the third 2 hours

    overdue = queue.list_tickets(TicketQuery(overdue=True))
    assert [t.reference for t in overdue.tickets] == [late] and overdue.tickets[0].overdue
    assert overdue.total == 1
    incidents = queue.list_tickets(TicketQuery(kind=TicketKind.INCIDENT, state=TicketState.OPEN))
    assert [t.reference for t in incidents.tickets] == [fresh, late]

    first = queue.list_tickets(TicketQuery(limit=3))
    assert first.total == 7 and len(first.tickets) == 3 and first.next_cursor
    second = queue.list_tickets(TicketQuery(limit=3, cursor=first.next_cursor))
    third = queue.list_tickets(TicketQuery(limit=3, cursor=second.next_cursor))
    seen = [t.reference for page in (first, second, third) for t in page.tickets]
    assert len(set(seen)) == 7 and third.next_cursor is None
    assert seen[0] == "FB-2026-0004" and seen[-1] == late
    with pytest.raises(InvalidInput, match="limit"):
        queue.list_tickets(TicketQuery(limit=0))
    with pytest.raises(InvalidInput, match="cursor"):
        queue.list_tickets(TicketQuery(cursor="abc"))


def test_export_writes_every_ticket_and_defuses_spreadsheet_formulas(
    handoff: Handoff, queue: SupportQueue, reporter: Reporter
) -> None:
    handoff.report_incident(incident(reporter))
    handoff.general_feedback(GeneralFeedback(reporter=reporter, text='=HYPERLINK("x")'))
    out = io.StringIO()
    assert queue.export_csv(out) == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["reference"] for r in rows] == ["INC-2026-0001", "FB-2026-0001"]
    assert rows[1]["body"] == '\'=HYPERLINK("x")'
    assert rows[0]["reporter_user_id"] == "U123" and rows[0]["overdue"] == "False"
    only_feedback = io.StringIO()
    assert queue.export_csv(only_feedback, TicketQuery(kind=TicketKind.FEEDBACK)) == 1
