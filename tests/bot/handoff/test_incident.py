"""Incident drafts: what the opening message already says, and how drafts are kept."""

from __future__ import annotations

from datetime import timedelta

from bot.handoff.incident import INCIDENT_FORM, ConversationKey, Conversations, Draft
from bot.models import Message
from bot.store import Store
from tests.bot.fakes import FakeClock


def test_a_draft_takes_what_the_opening_message_says_and_asks_for_the_rest() -> None:
    draft = Draft.start("I think I leaked customer data into ChatGPT")
    assert draft.values == {
        "what_happened": "I think I leaked customer data into ChatGPT",
        "tool": "ChatGPT",
    }
    assert draft.awaiting == "data_involved"
    assert Draft.start("").awaiting == "what_happened"
    for f in INCIDENT_FORM[2:]:
        assert draft.awaiting == f.name
        draft = draft.answer(f"answer for {f.name}")
    assert draft.complete and draft.awaiting is None


def test_the_form_asks_what_an_incident_response_needs() -> None:
    assert [f.name for f in INCIDENT_FORM] == [
        "what_happened", "tool", "data_involved", "happened_at", "discovered_at", "contained",
        "contact",
    ]  # fmt: skip
    assert all(f.question.endswith(("?", ".", ")")) for f in INCIDENT_FORM)


def test_drafts_are_kept_per_person_and_thread_redacted_and_expire(
    store: Store, clock: FakeClock
) -> None:
    conversations = Conversations(store, timeout=timedelta(hours=1), clock=clock)
    message = Message("x", user_id="U1", platform="slack", conversation_id="C1", thread_id="171.2")
    key = ConversationKey.of(message)
    assert key.conversation == "C1#171.2"
    draft = Draft.start("report").answer("Sent mei.chan@example.com's file to Kimi")
    conversations.save(key, draft)
    loaded = conversations.load(key)
    assert loaded is not None and loaded.awaiting == draft.awaiting
    other_thread = ConversationKey.of(
        Message("x", user_id="U1", platform="slack", conversation_id="C1", thread_id="999.1")
    )
    assert conversations.load(other_thread) is None
    clock.advance(minutes=61)
    assert conversations.load(key) is None
    assert conversations.clear(key) is True and conversations.clear(key) is False
    assert loaded.values["what_happened"] == "Sent [EMAIL]'s file to Kimi"
