"""DPP6 requests: export everything held about one employee, erase it, keep only the fact."""

from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa

from bot.handoff.incident import ConversationKey, Conversations, Draft
from bot.handoff.lifecycle import SupportQueue
from bot.handoff.ports import Reporter
from bot.handoff.submissions import Handoff
from bot.handoff.tickets import AnswerRecord, Escalation, IncidentReport, Rating
from bot.privacy.subject_requests import erase, erasures_of, export
from bot.store import Store
from bot.store.schema import ErasureRow, TicketRow
from tests.bot.fakes import FakeClock


def seed(
    store: Store, handoff: Handoff, queue: SupportQueue, clock: FakeClock, mei: Reporter
) -> None:
    answer_id = handoff.record_answer(
        AnswerRecord(
            platform="slack",
            asker_key="k" * 64,
            question="may I use copilot?",
            answer="Yes [1].",
            status="answered",
            citations=(),
        )
    )
    handoff.submit_feedback(Rating(reporter=mei, helpful=False, answer_id=answer_id))
    incident = handoff.report_incident(
        IncidentReport(reporter=mei, what_happened="pasted HKID A123456(3) into ChatGPT")
    )
    queue.comment(incident.ticket.reference, "agent@x", "called Mei")
    Conversations(store, timeout=timedelta(hours=1), clock=clock).save(
        ConversationKey("slack", "D1", mei.user_id), Draft.start("report")
    )
    other = Reporter(platform="slack", user_id="U999")
    handoff.escalate(Escalation(reporter=other, question="can interns use copilot?"))


def test_export_then_erase_leaves_only_a_hashed_audit_row(
    store: Store, handoff: Handoff, queue: SupportQueue, clock: FakeClock, reporter: Reporter
) -> None:
    seed(store, handoff, queue, clock, reporter)

    held = export(store, reporter.user_id, platform="slack")
    assert held["found"] and len(held["tickets"]) == 2 and len(held["ratings"]) == 1
    incident = next(t for t in held["tickets"] if t["kind"] == "incident")
    assert "[HKID]" in incident["body"] and incident["comments"][0]["text"] == "called Mei"
    assert [e["action"] for e in incident["events"]] == ["created", "commented"]
    assert len(held["incident_drafts"]) == 1 and len(held["answers"]) == 1
    assert "A123456" not in json.dumps(held)
    assert export(store, reporter.user_id, platform="teams")["found"] is False

    removed = erase(store, reporter.user_id, platform="slack", clock=clock)
    assert removed["tickets"] == 2 and removed["ratings"] == 1 and removed["answers"] == 1
    assert removed["incident_drafts"] == 1 and removed["ticket_events"] >= 3

    assert export(store, reporter.user_id)["found"] is False
    with store.transaction() as session:
        left = session.scalars(sa.select(TicketRow.reporter_user_id)).all()
        audit = session.scalars(sa.select(ErasureRow)).all()
    assert left == ["U999"]
    assert len(audit) == 1 and reporter.user_id not in repr(vars(audit[0]))
    assert audit[0].removed == removed
    assert [e["removed"]["tickets"] for e in erasures_of(store, reporter.user_id)] == [2]


def test_an_unknown_user_exports_empty_and_erases_nothing(store: Store) -> None:
    held = export(store, "U-nobody")
    assert held["found"] is False and held["tickets"] == [] and held["ratings"] == []
    assert set(erase(store, "U-nobody").values()) == {0}
    assert erasures_of(store, "U-nobody") == []
