"""The employees' side of the hand-off service: validation, idempotency, redaction, ratings."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from bot.errors import InvalidInput
from bot.handoff.lifecycle import SupportQueue
from bot.handoff.ports import Reporter
from bot.handoff.submissions import Handoff
from bot.handoff.tickets import (
    AnswerRecord,
    Escalation,
    GeneralFeedback,
    IncidentReport,
    Rating,
    TicketState,
)
from bot.store import Store
from bot.store.schema import OutboxRow, QuestionLogRow, TicketEventRow, TicketRow
from tests.bot.fakes import citation


def count(store: Store, table: type) -> int:
    with store.transaction() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(table)) or 0


def test_empty_and_oversized_fields_are_refused_with_every_problem_named(
    handoff: Handoff, store: Store, reporter: Reporter
) -> None:
    report = IncidentReport(
        reporter=reporter, what_happened="  ", tool="t" * 4001, contained="x" * 4000
    )
    with pytest.raises(InvalidInput) as caught:
        handoff.report_incident(report)
    assert caught.value.errors == {
        "what_happened": "is empty; please fill it in",
        "tool": "is 4,001 characters; the limit is 4,000",
    }
    with pytest.raises(InvalidInput, match="text: is empty"):
        handoff.general_feedback(GeneralFeedback(reporter=reporter, text="\n"))
    with pytest.raises(InvalidInput, match="reporter.user_id"):
        handoff.general_feedback(GeneralFeedback(reporter=Reporter("slack", ""), text="hi"))
    assert count(store, TicketRow) == count(store, TicketEventRow) == count(store, OutboxRow) == 0


def test_a_repeated_idempotency_key_returns_the_first_ticket(
    handoff: Handoff, store: Store, reporter: Reporter
) -> None:
    feedback = GeneralFeedback(reporter=reporter, text="Allow Copilot", idempotency_key="slack:Ev1")
    first = handoff.general_feedback(feedback)
    again = handoff.general_feedback(feedback)
    assert first.created and not again.created
    assert first.ticket.reference == again.ticket.reference
    assert count(store, TicketRow) == 1 and count(store, OutboxRow) == 1


def test_concurrent_submissions_with_one_key_create_one_ticket(
    handoff: Handoff, store: Store, reporter: Reporter
) -> None:
    barrier = threading.Barrier(6)

    def submit(_: int) -> str:
        barrier.wait()
        report = IncidentReport(
            reporter=reporter, what_happened="Leaked a list", idempotency_key="teams:conv|act-9"
        )
        return handoff.report_incident(report).ticket.reference

    with ThreadPoolExecutor(max_workers=6) as pool:
        references = set(pool.map(submit, range(6)))
    assert len(references) == 1
    assert count(store, TicketRow) == 1


def test_text_is_redacted_before_it_is_stored(
    handoff: Handoff, queue: SupportQueue, store: Store, reporter: Reporter
) -> None:
    submitted = handoff.report_incident(
        IncidentReport(
            reporter=reporter,
            what_happened="Pasted the complaint from mei.chan@example.com into ChatGPT",
            data_involved="her phone 9123 4567",
        )
    )
    reference = submitted.ticket.reference
    assert submitted.ticket.body == "Pasted the complaint from [EMAIL] into ChatGPT"
    queue.comment(reference, "alice", "Called back on 9123 4567")
    detail = queue.show(reference)
    assert detail.ticket.details["data_involved"] == "her phone [PHONE]"
    assert detail.comments[0].text == "Called back on [PHONE]"
    with store.engine.connect() as connection:
        dump = " ".join(str(row) for row in connection.execute(sa.select(TicketRow.__table__)))
    assert "mei.chan@example.com" not in dump and "9123 4567" not in dump


def test_not_found_answers_are_logged_as_gaps_and_found_ones_are_not(
    handoff: Handoff, store: Store
) -> None:
    handoff.record_answer(AnswerRecord("web", "k1", "Who approves vendors?", "…", "not_found"))
    handoff.record_answer(AnswerRecord("web", "k1", "Can I use ChatGPT?", "Yes [1]", "answered"))
    with store.transaction() as session:
        logged = session.scalars(sa.select(QuestionLogRow.question)).all()
    assert logged == ["Who approves vendors?"]


def test_feedback_finds_the_answer_by_the_platform_message_that_carried_it(
    handoff: Handoff, reporter: Reporter
) -> None:
    answer_id = handoff.record_answer(
        AnswerRecord(
            "teams",
            "k2",
            "Can I use ChatGPT?",
            "Only Enterprise [1]",
            "answered",
            (citation(1, "3. Approved tools"),),
        )  # fmt: skip
    )
    handoff.link_answer(answer_id, platform="teams", message_ref="activity-42")
    teams_user = Reporter("teams", "aad-1")
    receipt = handoff.submit_feedback(
        Rating(reporter=teams_user, helpful=False, message_ref="activity-42", idempotency_key="i1")
    )
    assert receipt.ticket is not None
    assert receipt.ticket.details["answer"] == "Only Enterprise [1]"
    assert receipt.ticket.details["citations"][0]["section"] == "3. Approved tools"
    assert receipt.ticket.body == "(no comment)"
    retried = handoff.submit_feedback(
        Rating(reporter=teams_user, helpful=False, message_ref="activity-42", idempotency_key="i1")
    )
    assert not retried.created and retried.ticket == receipt.ticket


def test_feedback_on_an_unknown_answer_needs_the_question(
    handoff: Handoff, reporter: Reporter
) -> None:
    with pytest.raises(InvalidInput, match="answer_id: matches no stored answer"):
        handoff.submit_feedback(Rating(reporter=reporter, helpful=False, answer_id="gone"))
    receipt = handoff.submit_feedback(
        Rating(reporter=reporter, helpful=False, answer_id="gone", question="Is Kimi approved?")
    )
    assert receipt.ticket is not None
    assert receipt.ticket.details["question"] == "Is Kimi approved?"
    assert receipt.ticket.details["answer_status"] == "unknown"
    with pytest.raises(InvalidInput, match="answer_id"):
        handoff.escalate(Escalation(reporter=reporter, answer_id="gone"))


def test_positive_feedback_makes_no_ticket_and_employees_see_only_their_own(
    handoff: Handoff, reporter: Reporter
) -> None:
    answer_id = handoff.record_answer(AnswerRecord("slack", "k", "Q?", "A [1]", "answered"))
    receipt = handoff.submit_feedback(Rating(reporter=reporter, helpful=True, answer_id=answer_id))
    assert receipt.helpful and receipt.ticket is None
    handoff.general_feedback(GeneralFeedback(reporter=reporter, text="Mine"))
    handoff.general_feedback(GeneralFeedback(reporter=Reporter("slack", "U999"), text="Theirs"))
    mine = handoff.tickets_of(reporter)
    assert [t.body for t in mine] == ["Mine"] and mine[0].state is TicketState.OPEN
    assert handoff.last_answer_id("k") == answer_id and handoff.last_answer_id("other") is None
