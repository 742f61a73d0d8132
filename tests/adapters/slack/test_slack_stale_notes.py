"""A note to the asker of an answer that went stale: the answer given in a Slack DM keeps
only its channel and thread, and the note (the question answered again, with citations)
goes there through the outbox relay and the real Bolt app's notifier, once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from adapters.slack.events import message_from_command
from bot.answering.engine import Engine
from bot.answering.stale import stale_answers
from bot.handoff.stale_notes import ALREADY_SENT, QUEUED, REQUEUED, note_states, notify
from bot.store.schema import AnswerRow
from tests.adapters.slack.conftest import SlackHarness, event_payload
from tests.announce_fixtures import change_cited_section


async def ask_in_a_dm(harness: SlackHarness) -> AnswerRow:
    """The DM fixture's question, answered; returns the stored answer."""
    await harness.event(event_payload("dm_message"))
    await harness.api.wait_for("chat.postMessage")
    await harness.settle()
    with harness.context.assistant.store.transaction() as session:
        row = session.scalars(sa.select(AnswerRow)).one()
        session.expunge(row)
    return row


async def test_the_note_goes_to_the_thread_of_the_answer_once(
    harness: SlackHarness, engine: Engine
) -> None:
    store = harness.context.assistant.store
    answer = await ask_in_a_dm(harness)
    # Only where the answer went: no user id, no name.
    assert json.loads(answer.reply_to or "") == {
        "channel": "D0MEICHAN1",
        "thread_ts": "1736929812.345679",
    }
    assert "U0MEICHAN" not in (answer.reply_to or "")
    section = answer.citations[0]["section"]
    change_cited_section(store, answer.citations[0])
    harness.api.calls.clear()

    [stale] = stale_answers(store, now=datetime.now(UTC) + timedelta(seconds=2))
    assert stale.reachable
    [outcome] = notify(store, [stale], engine.answerer.answer, by="ada")
    assert outcome.state == QUEUED
    await harness.context.assistant.deliveries.deliver_pending()

    [post] = harness.api.called("chat.postMessage")
    assert post.args["channel"] == "D0MEICHAN1" and post.args["thread_ts"] == "1736929812.345679"
    text = post.args["blocks"][0]["text"]["text"]
    day = stale.changed_at.date().isoformat()
    assert text.startswith(
        f"The policy section your earlier answer relied on ({section}) changed on {day}. "
        "Updated answer:"
    )
    assert "[1]" in text
    assert any(block.get("block_id") == "sources" for block in post.args["blocks"])
    assert note_states(store, [stale.answer_id])[stale.answer_id].sent_at is not None

    [again] = notify(store, [stale], engine.answerer.answer, by="bob")
    assert again.state == ALREADY_SENT and "asked by ada" in again.detail
    await harness.context.assistant.deliveries.deliver_pending()
    assert len(harness.api.called("chat.postMessage")) == 1


async def test_a_failed_note_keeps_its_error_and_is_sent_when_asked_again(
    harness: SlackHarness, engine: Engine
) -> None:
    store = harness.context.assistant.store
    answer = await ask_in_a_dm(harness)
    change_cited_section(store, answer.citations[0])
    harness.api.calls.clear()
    harness.api.fail("chat.postMessage", error="channel_not_found")
    stale = stale_answers(store, now=datetime.now(UTC) + timedelta(seconds=2))
    notify(store, stale, engine.answerer.answer, by="ada")
    await harness.context.assistant.deliveries.deliver_pending()

    state = note_states(store, [answer.id])[answer.id]
    assert state.sent_at is None and "channel_not_found" in (state.last_error or "")

    [retried] = notify(store, stale, engine.answerer.answer, by="ada", answer_ids=[answer.id])
    assert retried.state == REQUEUED and "channel_not_found" in retried.detail
    await harness.context.assistant.deliveries.deliver_pending()
    assert note_states(store, [answer.id])[answer.id].sent_at is not None
    assert len(harness.api.called("chat.postMessage")) == 2  # the failed call, then the note


def test_a_slash_command_answer_is_followed_up_only_in_the_apps_dm() -> None:
    """Its answer was ephemeral: a note in a shared channel would tell everyone there."""
    shared = message_from_command({"user_id": "U0MEICHAN", "channel_id": "C0GENERAL"}, "q")
    direct = message_from_command({"user_id": "U0MEICHAN", "channel_id": "D0MEICHAN1"}, "q")
    assert shared.reply_to is None
    assert json.loads(direct.reply_to or "") == {"channel": "D0MEICHAN1"}
