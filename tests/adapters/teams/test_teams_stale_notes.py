"""A note to the asker of an answer that went stale, in Teams: the answer keeps the
conversation reference without the person, and the note (the question answered again, with
its citations) reaches that conversation through the real CloudAdapter's proactive send."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import sqlalchemy as sa

from bot.answering.engine import Engine
from bot.answering.stale import stale_answers
from bot.handoff.stale_notes import QUEUED, note_states, notify
from bot.store.schema import AnswerRow
from tests.adapters.teams.conftest import TeamsHarness, activity
from tests.announce_fixtures import change_cited_section


async def test_the_note_reaches_the_chat_without_keeping_who_asked(
    harness: TeamsHarness, engine: Engine
) -> None:
    question = activity("personal_message")
    await harness.post(question)
    store = harness.assistant.store
    with store.transaction() as session:
        answer = session.scalars(sa.select(AnswerRow)).one()
        session.expunge(answer)
    kept = answer.reply_to or ""
    sender = question["from"]
    for identifier in (sender["id"], sender["name"], sender["aadObjectId"]):
        assert identifier not in kept
    assert json.loads(kept)["conversation"]["id"] == question["conversation"]["id"]

    cited = answer.citations[0]
    later = change_cited_section(store, cited)
    stale = stale_answers(store, now=later + timedelta(seconds=1))
    [outcome] = notify(store, stale, engine.answerer.answer, by="ada")
    assert outcome.state == QUEUED
    before = len(harness.connector.sent())
    await harness.assistant.deliveries.deliver_pending()

    [note] = harness.connector.sent()[before:]
    assert note.conversation_id == question["conversation"]["id"]
    assert note.text.startswith(
        f"The policy section your earlier answer relied on ({cited['section']}) changed on "
    )
    [entity] = note.body["entities"]
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", note.text)}
    assert markers and markers == {c["position"] for c in entity["citation"]}
    assert not (note.body.get("recipient") or {}).get("id")
    assert note_states(store, [answer.id])[answer.id].sent_at is not None
