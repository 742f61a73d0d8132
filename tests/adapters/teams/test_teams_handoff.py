"""Feedback, incident reports and the support channel, through Teams, on a real store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from adapters.teams.settings import TeamsSettings
from bot.store import Store
from bot.store.schema import RatingRow, TicketRow
from tests.adapters.teams.conftest import ADMIN_AAD_ID, TeamsHarness, activity, start_harness
from tests.adapters.teams.fake_connector import Call

CHANNEL = "19:5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d@thread.tacv2"
PERSONAL = "a:1Jq8vRkT3pLmN5xZ0yWcBdE7fGhUiOa2sQ4tV6nMjK9lP-oRuXe_ZsAbCdEfGhIjKlMnOp"


@pytest.fixture
async def desk_harness(engine, connector, tmp_path: Path) -> AsyncIterator[TeamsHarness]:
    teams_settings = TeamsSettings(
        _env_file=None,
        app_id=None,
        admins=frozenset({ADMIN_AAD_ID}),
        support_conversation=CHANNEL,
        service_url=connector.url,
    )
    started = await start_harness(engine, connector, teams_settings, tmp_path)
    yield started
    await started.close()


@pytest.fixture
def store(desk_harness: TeamsHarness) -> Store:
    return desk_harness.assistant.store


def tickets(store: Store) -> list[TicketRow]:
    with store.transaction() as session:
        return list(session.scalars(sa.select(TicketRow).order_by(TicketRow.id)))


def support_posts(harness: TeamsHarness) -> list[Call]:
    """New threads in the support channel (not replies in a thread, not card updates)."""
    return [c for c in harness.connector.sent() if c.conversation_id == CHANNEL]


def card_actions(call: Call) -> list[str]:
    return [a["title"] for card in call.cards for a in card.get("actions", [])]


def card_text(call: Call) -> str:
    return " ".join(str(e.get("text", "")) for card in call.cards for e in card["body"])


def staff_action(
    name: str, reference: str, card_id: str, *, staff: str = "Ada Support", **data
) -> dict:
    return activity(
        "channel_mention",
        text=None,
        entities=[],
        conversation={
            "isGroup": True,
            "conversationType": "channel",
            "id": f"{CHANNEL};messageid={card_id}",
        },
        replyToId=card_id,
        value={"policybot": name, "ticket": reference, **data},
        **{"from": {"id": f"29:{staff}", "name": staff, "aadObjectId": f"aad-{staff}"}},
    )


async def test_thumbs_down_on_an_answer_is_stored_and_reaches_support(
    desk_harness: TeamsHarness, store: Store
):
    await desk_harness.post_and_deliver(activity("personal_message"))
    answer = desk_harness.connector.sent()[-1]
    invoke = activity("feedback_invoke", replyToId=answer.returned_id)

    first = await desk_harness.post_and_deliver(invoke)
    again = await desk_harness.post_and_deliver(invoke)

    assert first == again == (200, b"")
    with store.transaction() as session:
        [rating] = session.scalars(sa.select(RatingRow)).all()
        assert rating.answer_id is not None, "the answer was linked to its Teams message"
        assert (rating.helpful, rating.question, rating.comment) == (
            False,
            "Can I paste customer data into ChatGPT?",
            "It quoted the wrong section about customer data.",
        )
    [ticket] = tickets(store)
    assert ticket.kind == "feedback"
    [post] = support_posts(desk_harness)
    assert ticket.reference in card_text(post)
    assert "Can I paste customer data into ChatGPT?" in card_text(post)
    # The employee hears that a person will look at it, once.
    told = [c for c in desk_harness.connector.sent() if ticket.reference in c.text]
    assert [c.conversation_id for c in told] == [PERSONAL]


async def test_incident_card_validates_then_files_and_posts_to_support(
    desk_harness: TeamsHarness, store: Store
):
    connector = desk_harness.connector
    await desk_harness.post_and_deliver(activity("card_submit"))
    [form] = connector.sent()
    assert form.cards[0]["body"][0]["text"] == "Report an AI incident"
    form_id = form.returned_id

    await desk_harness.post_and_deliver(
        activity(
            "card_submit",
            replyToId=form_id,
            value={"policybot": "incident_submit", "tool": "ChatGPT"},
        )
    )

    [invalid] = connector.updates()
    assert invalid.activity_id == form_id
    errors = [e["text"] for e in invalid.cards[0]["body"] if e.get("color") == "Attention"]
    # The core's reason for each empty required field shows under its input; the card keeps
    # what was typed.
    body = invalid.cards[0]["body"]
    what = next(i for i, e in enumerate(body) if e.get("id") == "what_happened")
    assert body[what + 1].get("color") == "Attention" and body[what + 1]["text"] in errors
    assert any(
        e.get("id") == "tool" and e.get("value") == "ChatGPT" for e in invalid.cards[0]["body"]
    )
    assert tickets(store) == []

    submit = activity(
        "card_submit",
        replyToId=form_id,
        value={
            "policybot": "incident_submit",
            "what_happened": "Pasted a customer list into ChatGPT",
            "tool": "ChatGPT",
            "contained": "no",
        },
    )
    await desk_harness.post_and_deliver(submit)
    await desk_harness.post_and_deliver(submit)  # Teams resends: still one ticket

    [ticket] = tickets(store)
    assert ticket.kind == "incident" and ticket.reporter_platform == "teams"
    receipt_card = connector.updates()[-1]
    assert ticket.reference in card_text(receipt_card) and card_actions(receipt_card) == []
    [receipt] = [c for c in connector.sent() if ticket.reference in c.text]
    assert receipt.conversation_id == PERSONAL
    [post] = support_posts(desk_harness)
    assert post.activity_id is None, "a new thread in the support channel"
    assert card_actions(post) == ["Claim", "Send reply", "Reassign", "Resolve"]
    assert "ChatGPT" in card_text(post)


async def test_claim_and_resolve_update_the_card_and_tell_the_reporter(
    desk_harness: TeamsHarness, store: Store
):
    connector = desk_harness.connector
    await desk_harness.post_and_deliver(
        activity(
            "card_submit",
            value={
                "policybot": "incident_submit",
                "what_happened": "Uploaded an HR file to a chatbot",
            },
        )
    )
    [ticket] = tickets(store)
    [post] = support_posts(desk_harness)
    posted_id = post.returned_id

    await desk_harness.post_and_deliver(staff_action("claim", ticket.reference, posted_id))

    claimed = [c for c in connector.updates() if c.activity_id == posted_id]
    assert claimed and "Ada Support" in card_text(claimed[-1])
    assert card_actions(claimed[-1]) == ["Send reply", "Reassign", "Unassign", "Resolve"]
    told = [
        c for c in connector.sent() if c.conversation_id == PERSONAL and "now handling" in c.text
    ]
    assert len(told) == 1

    await desk_harness.post_and_deliver(
        staff_action("claim", ticket.reference, posted_id, staff="Bo Other")
    )
    refused = connector.sent()[-1]
    assert "Ada Support" in refused.text

    await desk_harness.post_and_deliver(
        staff_action(
            "resolve", ticket.reference, posted_id, resolution="Chat deleted; DPO informed."
        )
    )

    resolved = [c for c in connector.updates() if c.activity_id == posted_id][-1]
    assert card_actions(resolved) == [] and "Chat deleted" in card_text(resolved)
    assert any(
        "resolved" in c.text and "Chat deleted" in c.text
        for c in connector.sent()
        if c.conversation_id == PERSONAL
    )
    assert len(support_posts(desk_harness)) == 1, "updated in place, never posted twice"


async def test_ask_a_person_opens_an_escalation(desk_harness: TeamsHarness, store: Store):
    await desk_harness.post_and_deliver(
        activity(
            "card_submit", value={"policybot": "ask_person", "question": "May interns use Copilot?"}
        )
    )

    [ticket] = tickets(store)
    assert ticket.kind == "escalation" and ticket.body == "May interns use Copilot?"
    assert any(
        ticket.reference in c.text
        for c in desk_harness.connector.sent()
        if c.conversation_id == PERSONAL
    )


async def test_claim_is_refused_outside_the_support_channel(
    desk_harness: TeamsHarness, store: Store
):
    await desk_harness.post_and_deliver(
        activity(
            "card_submit",
            value={
                "policybot": "incident_submit",
                "what_happened": "Shared a contract with a chatbot",
                "data_involved": "Client names",
                "happened_at": "Monday",
                "contained": "Yes",
            },
        )
    )
    [ticket] = tickets(store)

    await desk_harness.post(
        activity("card_submit", value={"policybot": "claim", "ticket": ticket.reference})
    )

    assert "only in the support channel" in desk_harness.connector.sent()[-1].text
    assert tickets(store)[0].state == "open"


async def test_the_incident_conversation_shows_its_step_and_its_buttons_say_their_words(
    desk_harness: TeamsHarness, store: Store
):
    await desk_harness.post_and_deliver(
        activity("personal_message", text="I pasted our client list into DeepSeek by mistake")
    )
    opening = desk_harness.connector.sent()[-1]
    assert "Reporting an AI incident · step 3 of 7" in card_text(opening)
    [cancel] = [a for card in opening.cards for a in card["actions"]]
    assert cancel["title"] == "Cancel"
    assert cancel["data"]["msteams"] == {
        "type": "messageBack",
        "text": "cancel",
        "displayText": "cancel",
    }

    # A question mid-report is answered, with citations, and the question asked again.
    await desk_harness.post_and_deliver(
        activity("personal_message", text="Can I paste customer data into ChatGPT?")
    )
    aside = desk_harness.connector.sent()[-1]
    assert "Back to your incident report:" in aside.text
    assert "Reporting an AI incident · step 3 of 7" in card_text(aside)
    assert tickets(store) == []

    # What Teams sends for the messageBack click: the button's words as a message.
    await desk_harness.post_and_deliver(activity("personal_message", text="cancel"))
    assert desk_harness.connector.sent()[-1].text.startswith("Cancelled: I haven't sent")
    assert tickets(store) == []


async def test_a_reply_from_the_card_reaches_the_reporter_and_the_audit_trail(
    desk_harness: TeamsHarness, store: Store
):
    await desk_harness.post_and_deliver(
        activity(
            "card_submit",
            value={"policybot": "incident_submit", "what_happened": "Uploaded an HR file"},
        )
    )
    [ticket] = tickets(store)
    [post] = support_posts(desk_harness)
    assert "Send reply" in card_actions(post)
    await desk_harness.post_and_deliver(
        staff_action(
            "reply", ticket.reference, post.returned_id, reply_text="Which chatbot was it?"
        )
    )
    assert any(
        "Ada Support from the support team replied" in c.text and "Which chatbot" in c.text
        for c in desk_harness.connector.sent()
        if c.conversation_id == PERSONAL
    )
    assert desk_harness.connector.sent()[-1].text == "Reply sent to the reporter."
    detail = await desk_harness.assistant.desk.show(ticket.reference)
    assert ("replied", "Which chatbot was it?") in [(e.action, e.detail) for e in detail.events]


async def test_reassign_and_unassign_from_the_card_update_it_and_the_audit_trail(
    desk_harness: TeamsHarness, store: Store
):
    connector = desk_harness.connector
    await desk_harness.post_and_deliver(
        activity(
            "card_submit",
            value={"policybot": "incident_submit", "what_happened": "Uploaded an HR file"},
        )
    )
    [ticket] = tickets(store)
    [post] = support_posts(desk_harness)
    assert card_actions(post) == ["Claim", "Send reply", "Reassign", "Resolve"]
    # The deadline in the organisation's time zone (Hong Kong by default), not UTC.
    due = ticket.ack_due_at.replace(tzinfo=UTC).astimezone(ZoneInfo("Asia/Hong_Kong"))
    assert f"claim by {due:%d %b %H:%M} HKT" in card_text(post) and "UTC" not in card_text(post)

    await desk_harness.post_and_deliver(
        staff_action("reassign", ticket.reference, post.returned_id, assignee="Bo Other")
    )
    moved = [c for c in connector.updates() if c.activity_id == post.returned_id][-1]
    assert "Bo Other" in card_text(moved) and "Unassign" in card_actions(moved)
    assert connector.sent()[-1].text == "Ticket reassigned."

    await desk_harness.post_and_deliver(
        staff_action("unassign", ticket.reference, post.returned_id)
    )
    back = [c for c in connector.updates() if c.activity_id == post.returned_id][-1]
    assert card_actions(back)[0] == "Claim" and "Bo Other" not in card_text(back)
    assert connector.sent()[-1].text == "Ticket unassigned: it is back in the queue."
    trail = (await desk_harness.assistant.desk.show(ticket.reference)).events
    assert [(e.actor, e.action, e.detail) for e in trail[-2:]] == [
        ("Ada Support", "reassigned", "nobody -> Bo Other"),
        ("Ada Support", "unassigned", "Bo Other"),
    ]
    assert len(support_posts(desk_harness)) == 1

    # Nobody named: the core's clear message, nothing changed.
    await desk_harness.post_and_deliver(
        staff_action("reassign", ticket.reference, post.returned_id, assignee=" ")
    )
    assert "assignee" in connector.sent()[-1].text
    assert tickets(store)[0].state == "open"
