"""The Assistant's routes end to end: Message in, Reply out, tickets and notifications behind.

The answer engine is a fake (tests.bot.fakes.FakeEngine); the store is real, on every backend.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from bot.assembly import build_assistant
from bot.assistant import Assistant
from bot.handoff.incident import FIELDS_BY_NAME
from bot.handoff.outbox import Notifiers
from bot.handoff.ports import Reporter
from bot.handoff.tickets import TicketKind, TicketQuery
from bot.models import Action, Message, Status
from bot.settings import Settings
from bot.store import Store
from tests.bot.fakes import INCIDENT_SECTIONS, FakeClock, FakeEngine, RecordingNotifier

_ids = itertools.count(1)


def message(text: str, *, user: str = "U123", conversation: str = "D123", **extra: str) -> Message:
    return Message(
        text=text,
        user_id=user,
        platform="slack",
        conversation_id=conversation,
        message_id=extra.pop("message_id", f"m{next(_ids)}"),
        conversation_ref="D123",
        display_name="Mei",
        **extra,
    )


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier(platform="slack")


@pytest.fixture
def engine(store_settings: Settings) -> FakeEngine:
    return FakeEngine(settings=store_settings)


@pytest.fixture
def assistant(
    engine: FakeEngine, store: Store, clock: FakeClock, notifier: RecordingNotifier
) -> Assistant:
    notifiers = Notifiers()
    notifiers.register(notifier, support=True)
    return build_assistant(engine, store=store, notifiers=notifiers, clock=clock)


def question(field: str) -> str:
    return FIELDS_BY_NAME[field].question


async def test_an_incident_is_collected_in_conversation_and_survives_a_restart(
    assistant: Assistant,
    engine: FakeEngine,
    store: Store,
    clock: FakeClock,
    notifier: RecordingNotifier,
) -> None:
    opening = await assistant.handle(message("I think I leaked customer data into ChatGPT"))
    # What happened and the tool are in the opening message: the first question is the data.
    assert opening.text.endswith(question("data_involved")) and 'say "cancel"' in opening.text
    assert opening.reference is None and opening.citations == ()

    missing = await assistant.handle(message("   "))
    assert missing.text == f"I didn't catch that. {question('data_involved')}"

    reply = await assistant.handle(message("About 40 customer names and phone numbers"))
    assert reply.text == question("happened_at")

    # A new process (a restart, or another server behind the load balancer) carries on.
    assistant = build_assistant(engine, store=store, notifiers=assistant.notifiers, clock=clock)
    for answer, next_field in (
        ("Today around 10:15", "discovered_at"),
        ("Ten minutes later", "contained"),
        ("No, the chat is still in my history", "contact"),
    ):
        reply = await assistant.handle(message(answer))
        assert reply.text == question(next_field)

    review = await assistant.handle(message("Here in Slack, please"))
    assert review.reference is None and "4. When it happened: Today around 10:15" in review.text
    done = await assistant.handle(message("send"))
    assert done.reference == "INC-2026-0001"
    assert done.text.startswith("Thank you. Your report is INC-2026-0001.")
    assert "acknowledge it within 4 hours" in done.text
    assert (
        "don't delete the conversation" in done.text and "Don't enter the data again" in done.text
    )
    assert done.citations == INCIDENT_SECTIONS
    assert "[1]" in done.text and "[2]" in done.text

    ticket = assistant.queue.show("INC-2026-0001").ticket
    assert ticket.kind is TicketKind.INCIDENT and ticket.severity.value == "high"
    assert ticket.body == "I think I leaked customer data into ChatGPT"
    assert ticket.details == {
        "tool": "ChatGPT",
        "data_involved": "About 40 customer names and phone numbers",
        "happened_at": "Today around 10:15",
        "discovered_at": "Ten minutes later",
        "contained": "No, the chat is still in my history",
        "contact": "Here in Slack, please",
    }
    assert ticket.reporter == Reporter("slack", "U123", "D123", "Mei")
    assert ticket.ack_due_at == clock.now + assistant.handoff.ack_after

    await assistant.flush_notifications()
    assert notifier.posts == [("INC-2026-0001", "created", "open")]
    # The report is finished: the next message is a question again.
    after = await assistant.handle(message("Can I use ChatGPT for work?"))
    assert after.status is Status.ANSWERED


async def test_an_incident_report_can_be_cancelled_and_leaves_nothing_behind(
    assistant: Assistant,
) -> None:
    started = await assistant.handle(message("report an AI incident"))
    assert started.text.endswith(question("what_happened"))
    await assistant.handle(message("I uploaded a contract to Claude"))
    cancelled = await assistant.handle(message("cancel"))
    assert cancelled.text.startswith("Cancelled: I haven't sent anything")
    assert assistant.queue.list_tickets().total == 0
    again = await assistant.handle(message("cancel"))
    assert again.text.startswith("There is nothing to cancel")


async def test_a_draft_is_per_person_and_forgotten_after_the_timeout(
    assistant: Assistant, clock: FakeClock
) -> None:
    await assistant.handle(message("report incident"))
    colleague = await assistant.handle(message("Can I use ChatGPT?", user="U999"))
    assert colleague.status is Status.ANSWERED
    clock.advance(minutes=61)
    later = await assistant.handle(message("Can I use ChatGPT?"))
    assert later.status is Status.ANSWERED


async def test_oversized_answers_in_the_conversation_are_refused_and_asked_again(
    assistant: Assistant,
) -> None:
    await assistant.handle(message("report incident"))
    reply = await assistant.handle(message("x" * 4001))
    assert "That is 4,001 characters; please keep it under 4,000" in reply.text
    assert reply.text.endswith(question("what_happened"))
    assert (await assistant.handle(message("I pasted HR data into Gemini"))).text == question(
        "tool"
    )


async def test_the_report_action_starts_the_conversation_without_taking_the_label_as_the_story(
    assistant: Assistant,
) -> None:
    reply = await assistant.start_incident(message("Report an AI incident"))
    assert reply.text.endswith(question("what_happened"))


async def test_the_incident_form_reports_missing_fields_and_is_idempotent(
    assistant: Assistant,
) -> None:
    reporter = Reporter("teams", "aad-1", "ref", "Ken")
    invalid = await assistant.submit_incident_form(reporter, {"what_happened": " ", "tool": "x"})
    assert invalid.field_errors == {"what_happened": "is empty; please fill it in"}
    assert invalid.text == "I couldn't send that: What happened is empty; please fill it in."
    assert assistant.queue.list_tickets().total == 0

    form = {
        "what_happened": "Copilot showed me another team's salary sheet",
        "tool": "Microsoft Copilot, work account",
        "data_involved": "salaries of about 30 staff",
        "happened_at": "yesterday 4pm",
        "contained": "don't know",
    }
    first = await assistant.submit_incident_form(reporter, form, idempotency_key="teams:act-1")
    retry = await assistant.submit_incident_form(reporter, form, idempotency_key="teams:act-1")
    assert first.reference == retry.reference == "INC-2026-0001"
    assert assistant.queue.list_tickets().total == 1

    too_long = await assistant.submit_incident_form(reporter, {**form, "contained": "y" * 5000})
    assert too_long.field_errors == {"contained": "is 5,000 characters; the limit is 4,000"}


async def test_answers_carry_their_id_and_negative_feedback_queues_the_whole_answer(
    assistant: Assistant, notifier: RecordingNotifier
) -> None:
    answered = await assistant.handle(message("Can I use ChatGPT for work?"))
    assert answered.answer_id and answered.actions == (
        Action.FEEDBACK, Action.REPORT_INCIDENT, Action.ASK_PERSON,
    )  # fmt: skip
    reporter = Reporter("slack", "U123", "D123", "Mei")

    liked = await assistant.rate_answer(reporter, helpful=True, answer_id=answered.answer_id)
    assert liked.text == "Thanks for the feedback!" and liked.reference is None

    disliked = await assistant.rate_answer(
        reporter, helpful=False, comment="Says nothing about interns", answer_id=answered.answer_id
    )
    assert disliked.reference == "FB-2026-0001" and disliked.actions == (Action.ASK_PERSON,)
    details = assistant.queue.show("FB-2026-0001").ticket.details
    assert details["question"] == "Can I use ChatGPT for work?"
    assert details["answer"] == "Only ChatGPT Enterprise is approved [1]."
    assert [c["section"] for c in details["citations"]] == ["3. Approved tools › 3.1 The register"]
    assert details["comment"] == "Says nothing about interns"
    gaps = assistant.queue.knowledge_gaps()
    assert [(g.question, g.unhelpful) for g in gaps] == [("Can I use ChatGPT for work?", 1)]
    await assistant.flush_notifications()
    assert notifier.posts == [("FB-2026-0001", "created", "open")]


async def test_ratings_and_hand_offs_by_text_refer_to_the_last_answer(
    assistant: Assistant,
) -> None:
    assert (await assistant.handle(message("helpful"))).text.startswith("I have no recent answer")
    missed = await assistant.handle(message("Who approves new AI vendors?"))
    assert missed.status is Status.NOT_FOUND and missed.actions == (Action.ASK_PERSON,)

    rated = await assistant.handle(message("not helpful: I need to know today"))
    assert rated.reference == "FB-2026-0001"
    escalated = await assistant.handle(message("ask a person"))
    assert escalated.reference == "ESC-2026-0001"
    details = assistant.queue.show("ESC-2026-0001").ticket.details
    assert details["question"] == "Who approves new AI vendors?"
    assert details["answer_status"] == "not_found"

    gaps = assistant.queue.knowledge_gaps()
    assert len(gaps) == 1 and (gaps[0].not_found, gaps[0].unhelpful) == (1, 1)


async def test_ask_a_person_with_only_a_question_records_the_bots_attempt(
    assistant: Assistant, engine: FakeEngine
) -> None:
    reporter = Reporter("teams", "aad-7")
    reply = await assistant.ask_person(reporter, question="Is ChatGPT allowed for interns?")
    assert reply.reference == "ESC-2026-0001"
    details = assistant.queue.show(reply.reference).ticket.details
    assert details["answer"] == "Only ChatGPT Enterprise is approved [1]."
    assert engine.answerer.questions == ["Is ChatGPT allowed for interns?"]
    typed = await assistant.handle(message("ask a person: can interns use Copilot?"))
    assert assistant.queue.show(typed.reference or "").ticket.body == "can interns use Copilot?"
    empty = await assistant.ask_person(reporter, question="  ")
    assert empty.field_errors == {"question": "is empty; please fill it in"}


async def test_general_feedback_is_queued_once_per_platform_message(
    assistant: Assistant,
) -> None:
    sent = message("feedback: the policy should allow Copilot for interns", message_id="m-fb")
    first = await assistant.handle(sent)
    retried = await assistant.handle(sent)
    assert first.reference == retried.reference == "FB-2026-0001"
    assert assistant.queue.list_tickets(TicketQuery(kind=TicketKind.FEEDBACK)).total == 1
    prompt = await assistant.handle(message("feedback"))
    assert prompt.reference is None and "feedback:" in prompt.text


async def test_employees_see_their_own_tickets_and_hear_when_they_move(
    assistant: Assistant, notifier: RecordingNotifier
) -> None:
    assert (await assistant.handle(message("my tickets"))).text.startswith("You have no reports")
    await assistant.handle(message("feedback: more examples please"))
    await assistant.handle(message("feedback: from someone else", user="U999"))
    await assistant.desk.claim("FB-2026-0001", "alice")
    mine = await assistant.handle(message("my tickets"))
    assert "FB-2026-0001 (feedback): claimed, with alice" in mine.text
    assert "FB-2026-0002" not in mine.text
    assert [(r.user_id, text.split(":")[0]) for r, text in notifier.to_reporters] == [
        ("U123", "FB-2026-0001")
    ]


async def test_the_store_opens_itself_from_the_engines_settings(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)
    assistant = build_assistant(FakeEngine(settings=settings))
    reply = await assistant.handle(message("feedback: works out of the box"))
    assert re.fullmatch(r"FB-20\d\d-0001", reply.reference or "")
    assert (tmp_path / "data" / "policybot.db").exists()
    assistant.store.close()
