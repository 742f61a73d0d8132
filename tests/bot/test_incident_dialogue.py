"""The incident conversation listens: visible progress, questions answered mid-report, a
review before filing, and a left report offered back rather than resumed silently."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from bot.assembly import build_assistant
from bot.assistant import Assistant
from bot.handoff.incident import FIELDS_BY_NAME
from bot.handoff.outbox import Notifiers
from bot.handoff.ports import Reporter
from bot.handoff.tickets import Ticket, TicketKind, TicketQuery
from bot.incident_dialogue import is_aside
from bot.models import Action, Answer, Status
from bot.replies import answer_reply
from bot.settings import Settings
from bot.store import Store
from tests.bot.fakes import FakeClock, FakeEngine, RecordingNotifier, citation
from tests.bot.test_assistant import message


@pytest.fixture
def assistant(engine: FakeEngine, store: Store, clock: FakeClock) -> Assistant:
    notifiers = Notifiers()
    notifiers.register(RecordingNotifier(platform="slack"), support=True)
    return build_assistant(engine, store=store, notifiers=notifiers, clock=clock)


@pytest.fixture
def engine(store_settings: Settings) -> FakeEngine:
    return FakeEngine(settings=store_settings)


def question(field: str) -> str:
    return FIELDS_BY_NAME[field].question


def incidents(assistant: Assistant) -> Sequence[Ticket]:
    return assistant.queue.list_tickets(TicketQuery(kind=TicketKind.INCIDENT)).tickets


async def test_every_step_shows_where_the_report_stands_and_offers_cancel(
    assistant: Assistant,
) -> None:
    opening = await assistant.handle(message("I pasted our client list into DeepSeek by mistake"))
    assert opening.progress == "Reporting an AI incident · step 3 of 7"
    assert opening.actions == (Action.CANCEL_REPORT,)
    nxt = await assistant.handle(message("About 200 client names and emails"))
    assert nxt.progress == "Reporting an AI incident · step 4 of 7"
    assert nxt.text == question("happened_at")


async def test_a_question_mid_report_is_answered_and_not_stored_as_an_answer(
    assistant: Assistant,
) -> None:
    await assistant.handle(message("I pasted our client list into DeepSeek by mistake"))
    aside = await assistant.handle(message("Can I use ChatGPT for work?"))
    assert aside.status is Status.ANSWERED and aside.citations
    assert aside.text.endswith(f"Back to your incident report: {question('data_involved')}")
    assert aside.progress == "Reporting an AI incident · step 3 of 7"
    assert Action.REPORT_INCIDENT not in aside.actions and Action.CANCEL_REPORT in aside.actions
    hello = await assistant.handle(message("hi"))
    assert hello.text.startswith("Hello!") and hello.text.endswith(question("data_involved"))
    clarifying = await assistant.handle(
        message("does it matter that it was my personal ChatGPT Plus account?")
    )
    assert clarifying.text.endswith(question("data_involved"))
    for answer in ("Client names", "Yesterday", "Today", "No", "Here"):
        reply = await assistant.handle(message(answer))
    assert reply.progress == "Reporting an AI incident · review before sending"
    assert "3. Personal data or confidential information involved" in reply.text
    assert "Client names" in reply.text and "for work" not in reply.text
    assert reply.actions == (Action.SEND_REPORT, Action.EDIT_REPORT, Action.CANCEL_REPORT)
    assert not incidents(assistant)


async def test_the_review_can_edit_an_answer_before_it_is_filed(assistant: Assistant) -> None:
    await assistant.handle(message("I uploaded a contract to Claude"))
    for answer in ("A contract with two names", "Monday", "Tuesday", "Yes", "Email"):
        review = await assistant.handle(message(answer))
    assert "4. When it happened: Monday" in review.text
    which = await assistant.handle(message("edit"))
    assert which.text.startswith("Which answer would you like to change?")
    edit = await assistant.handle(message("edit 4"))
    assert edit.text == question("happened_at")
    assert edit.progress == "Reporting an AI incident · step 4 of 7"
    review = await assistant.handle(message("Sunday evening"))
    assert "4. When it happened: Sunday evening" in review.text
    assert not incidents(assistant)
    done = await assistant.handle(message("send"))
    assert done.reference == "INC-2026-0001" and done.progress is None
    [ticket] = incidents(assistant)
    assert ticket.details["happened_at"] == "Sunday evening"


async def test_a_left_report_is_offered_back_never_resumed_silently(
    assistant: Assistant, clock: FakeClock
) -> None:
    clock.now = clock.now.replace(hour=2, minute=2)  # 10:02 in Hong Kong
    await assistant.handle(message("I pasted HR data into Gemini"))
    clock.advance(minutes=20)
    later = await assistant.handle(message("Can I use ChatGPT for work?"))
    assert later.status is Status.ANSWERED
    assert later.text.endswith(
        "You have an unfinished incident report from 10:02: continue or discard? "
        "Nothing has been sent yet."
    )
    assert Action.CONTINUE_REPORT in later.actions and Action.DISCARD_REPORT in later.actions
    # Still not taken as an answer while the offer stands.
    again = await assistant.handle(message("Can I use ChatGPT for work?"))
    assert again.status is Status.ANSWERED and "continue or discard?" in again.text
    resumed = await assistant.handle(message("continue"))
    assert resumed.text == question("data_involved")
    discard_offer = await assistant.unfinished_report(message(""))
    assert discard_offer is not None and "from 10:02" in discard_offer.text
    gone = await assistant.handle(message("discard"))
    assert gone.text.startswith("Cancelled: I haven't sent anything")
    assert await assistant.unfinished_report(message("")) is None
    assert not incidents(assistant)


async def test_greetings_and_thanks_are_answered_as_such(assistant: Assistant) -> None:
    hello = await assistant.handle(message("hi"))
    assert hello.status is None and hello.starters and "couldn't find" not in hello.text
    thanks = await assistant.handle(message("thanks!"))
    assert thanks.text.startswith("You're welcome")


async def test_a_question_without_its_question_mark_is_answered_then_the_field_asked_again(
    assistant: Assistant,
) -> None:
    await assistant.handle(message("I pasted our client list into DeepSeek by mistake"))
    for aside_text in (
        "is copilot ok for writing code",
        "what is the PCPD",
        "可唔可以用ChatGPT寫email",
    ):
        aside = await assistant.handle(message(aside_text))
        assert aside.text.endswith(f"Back to your incident report: {question('data_involved')}")
        assert aside.progress == "Reporting an AI incident · step 3 of 7"
    # The answers that follow are stored, in their own fields.
    await assistant.handle(message("About 200 client names"))
    reply = await assistant.handle(message("when I got back from lunch"))
    assert reply.text == question("discovered_at")
    for answer in ("Straight away", "Don't know", "Here"):
        reply = await assistant.handle(message(answer))
    assert (
        "3. Personal data or confidential information involved, and roughly how much: About 200 client names"
        in reply.text
    )
    assert "4. When it happened: when I got back from lunch" in reply.text
    assert "copilot" not in reply.text.lower() and "PCPD" not in reply.text


def test_what_counts_as_not_an_answer() -> None:
    assert is_aside("is Copilot ok for writing code?")
    assert is_aside("hello") and is_aside("my tickets")
    assert not is_aside("About 200 customer names")
    assert not is_aside("Yesterday around 3pm")
    # Questions typed without a question mark, in English and in Chinese.
    for asked in (
        "is copilot ok for writing code",
        "does it matter that it was my personal account",
        "can I use ChatGPT",
        "what's the PCPD",
        "did I break the rules",
        "可以用DeepSeek嗎",
        "係咪要報告私隱專員",
        "點樣刪除對話紀錄",
    ):
        assert is_aside(asked), asked
    # Answers that start like one are still answers.
    for answered in (
        "when I got back from lunch",
        "did it at 3pm",
        "Is contained now",
        "should be contained",
        "Do not know",
        "don't know",
        "have not shared it further",
        "No",
        "未",
        "冇",
        "我將客戶名單貼咗落ChatGPT",
        "ChatGPT on my work account",
    ):
        assert not is_aside(answered), answered


def test_only_the_passages_an_answer_cites_are_listed() -> None:
    cited = citation(1, "3. Approved tools")
    unused = citation(2, "9. Glossary")
    answer = Answer(
        question="q",
        status=Status.ANSWERED,
        text="Only approved tools [1].",
        citations=(cited, unused),
        latency_ms=1.0,
    )
    assert answer_reply(answer).citations == (cited,)
    assert answer_reply(replace(answer, text="No markers.")).citations == (cited, unused)


async def test_not_helpful_names_no_button_but_keeps_ask_a_person(assistant: Assistant) -> None:
    answered = await assistant.handle(message("Can I use ChatGPT for work?"))
    reply = await assistant.rate_answer(
        Reporter("slack", "U123", "D123"), helpful=False, answer_id=answered.answer_id
    )
    assert "Ask a person" not in reply.text and "choose" not in reply.text
    assert reply.actions == (Action.ASK_PERSON,) and reply.answer_id == answered.answer_id
