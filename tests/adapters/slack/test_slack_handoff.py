"""Feedback, incident reports, questions for a person, and the support channel's tickets."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from adapters.slack import cards, commands, interactions, modals, render
from bot.handoff.tickets import Ticket, TicketKind, TicketState
from bot.store.schema import RatingRow
from tests.adapters.slack.conftest import (
    SUPPORT_CHANNEL,
    Posted,
    SlackHarness,
    event_payload,
    fixture,
)
from tests.adapters.slack.fake_slack_api import Call

STAFF = "U0RAVISUPP"


def block(blocks: list[dict], block_id: str) -> dict:
    return next(b for b in blocks if b.get("block_id") == block_id)


def action_values(blocks: list[dict]) -> dict[str, str]:
    """action_id -> value of every button of an answer (feedback: the negative one)."""
    values = {}
    for b in blocks:
        for element in b.get("elements", []):
            if element.get("type") == "feedback_buttons":
                values["helpful"] = element["positive_button"]["value"]
                values["not_helpful"] = element["negative_button"]["value"]
            elif element.get("type") == "button":
                values[element["action_id"]] = element.get("value", "")
    return values


async def ask(harness: SlackHarness, text: str = "Can I paste customer data into ChatGPT?") -> Call:
    await harness.event(event_payload("dm_message", text=text))
    answers = await harness.api.wait_for("chat.postMessage")
    return answers[-1]


def click(name: str, action_id: str, value: str, **container: str) -> dict[str, Any]:
    payload = fixture(name)
    payload["actions"][0].update(action_id=action_id, value=value)
    payload["container"].update(container)
    return payload


async def tickets(harness: SlackHarness) -> list[Ticket]:
    return list((await harness.context.assistant.desk.list_tickets()).tickets)


def support_posts(harness: SlackHarness) -> list[Call]:
    return [
        c for c in harness.api.called("chat.postMessage") if c.args["channel"] == SUPPORT_CHANNEL
    ]


def dms_to(harness: SlackHarness, user: str) -> list[Call]:
    return [c for c in harness.api.called("chat.postMessage") if c.args["channel"] == user]


def button_ids(card_blocks: list[dict]) -> list[str]:
    actions = [b for b in card_blocks if b.get("block_id") == "ticket_actions"]
    return [e["action_id"] for e in actions[0]["elements"]] if actions else []


async def submit_incident(harness: SlackHarness, **values: str | None) -> Posted:
    payload = fixture("view_submission_incident")
    state = payload["view"]["state"]["values"]
    for name, value in values.items():
        state[name][name]["value"] = value
    return await harness.interact(payload)


async def test_a_negative_feedback_click_is_stored_and_queued_for_support(
    harness: SlackHarness,
) -> None:
    answer = await ask(harness)
    value = action_values(answer.args["blocks"])["not_helpful"]

    response = await harness.interact(
        click(
            "block_actions_feedback",
            render.FEEDBACK,
            value,
            response_url=harness.api.response_url(),
        )
        | {"response_url": harness.api.response_url()}
    )
    await harness.settle()

    assert response.status == 200
    with harness.context.assistant.store.transaction() as session:
        [rating] = session.scalars(sa.select(RatingRow)).all()
        assert (rating.helpful, rating.user_id) == (False, "U0MEICHAN")
        assert rating.answer_id == render.split_feedback_value(value)[1]["a"]
        assert rating.question == "Can I paste customer data into ChatGPT?"
    [ticket] = await tickets(harness)
    assert ticket.kind is TicketKind.FEEDBACK
    [card] = support_posts(harness)
    assert ticket.reference in block(card.args["blocks"], "ticket_header")["text"]["text"]
    [thanks] = harness.api.called("response_url")
    assert thanks.args["response_type"] == "ephemeral"
    assert ticket.reference in thanks.args["text"]


async def test_a_positive_feedback_click_is_stored_without_a_ticket(harness: SlackHarness) -> None:
    answer = await ask(harness)
    value = action_values(answer.args["blocks"])["helpful"]

    payload = click("block_actions_feedback", render.FEEDBACK, value)
    await harness.interact(payload | {"response_url": harness.api.response_url()})
    await harness.interact(payload | {"response_url": harness.api.response_url()})
    await harness.settle()

    with harness.context.assistant.store.transaction() as session:
        assert [r.helpful for r in session.scalars(sa.select(RatingRow))] == [True]
    assert await tickets(harness) == []
    assert support_posts(harness) == []


async def test_report_button_opens_the_incident_modal(harness: SlackHarness) -> None:
    payload = click("block_actions_button", render.REPORT_INCIDENT, "{}")

    assert (await harness.interact(payload)).status == 200

    [opened] = await harness.api.wait_for("views.open")
    view = opened.args["view"]
    assert opened.args["trigger_id"] == payload["trigger_id"]
    assert view["callback_id"] == modals.INCIDENT_CALLBACK
    description = block(view["blocks"], "what_happened")
    assert description["optional"] is False
    assert description["element"]["multiline"] is True
    assert block(view["blocks"], "contact")["optional"] is True


async def test_an_empty_description_comes_back_as_a_field_error(harness: SlackHarness) -> None:
    response = await submit_incident(harness, what_happened="   ")
    await harness.settle()

    assert response.status == 200
    assert response.json() == {
        "response_action": "errors",
        "errors": {"what_happened": modals.REQUIRED_ERROR},
    }
    assert await tickets(harness) == []
    assert harness.api.effects() == []


async def test_a_valid_report_creates_one_incident_posts_it_and_dms_the_reference(
    harness: SlackHarness,
) -> None:
    first = await submit_incident(harness)
    again = await submit_incident(harness)  # a double submission of the same modal
    await harness.settle()

    assert (first.status, first.text, again.status) == (200, "", 200)
    [incident] = await tickets(harness)
    assert (incident.kind, incident.state) == (TicketKind.INCIDENT, TicketState.OPEN)
    assert incident.reporter.user_id == "U0MEICHAN"
    assert incident.details["tool"] == "ChatGPT free version, my personal account"
    [card] = support_posts(harness)
    assert incident.reference in card.args["text"]
    assert button_ids(card.args["blocks"]) == [
        cards.CLAIM,
        cards.REPLY,
        cards.REASSIGN,
        cards.RESOLVE,
    ]
    status = block(card.args["blocks"], "ticket_status")["elements"][0]["text"]
    assert "<@U0MEICHAN>" in status
    # The deadline in the organisation's time zone (POLICYBOT_TIMEZONE, Hong Kong here).
    due = incident.ack_due_at.astimezone(ZoneInfo("Asia/Hong_Kong"))
    assert f"claim by {due:%Y-%m-%d %H:%M} HKT" in status and "UTC" not in status
    dm = dms_to(harness, "U0MEICHAN")[0]
    assert f"Your report is {incident.reference}" in dm.args["text"]


async def reported(harness: SlackHarness) -> tuple[Ticket, str]:
    """A reported incident and the ts of its card in the support channel."""
    await submit_incident(harness)
    await harness.settle()
    [incident] = await tickets(harness)
    card = await harness.runtime.notifier.card_of(incident.reference)
    assert card is not None and card[0] == SUPPORT_CHANNEL
    return incident, card[1]


def ticket_click(action_id: str, reference: str, card_ts: str) -> dict[str, Any]:
    return click(
        "block_actions_ticket", action_id, reference, message_ts=card_ts, channel_id=SUPPORT_CHANNEL
    )


async def test_claim_updates_the_card_in_place_and_tells_the_reporter(
    harness: SlackHarness,
) -> None:
    incident, card_ts = await reported(harness)

    response = await harness.interact(ticket_click(cards.CLAIM, incident.reference, card_ts))
    await harness.settle()

    assert response.status == 200
    [update] = harness.api.called("chat.update")
    assert (update.args["channel"], update.args["ts"]) == (SUPPORT_CHANNEL, card_ts)
    header = block(update.args["blocks"], "ticket_header")["text"]["text"]
    assert "Claimed" in header
    assert button_ids(update.args["blocks"]) == [
        cards.REPLY,
        cards.REASSIGN,
        cards.UNASSIGN,
        cards.RESOLVE,
    ]
    assert (
        "claimed by ravi.support"
        in block(update.args["blocks"], "ticket_status")["elements"][0]["text"]
    )
    told = [c.args["text"] for c in dms_to(harness, "D0MEICHAN1")]
    assert any(incident.reference in text and "ravi.support" in text for text in told)
    assert len(support_posts(harness)) == 1


async def test_a_second_claim_is_refused_to_the_second_staff_member(harness: SlackHarness) -> None:
    incident, card_ts = await reported(harness)
    await harness.interact(ticket_click(cards.CLAIM, incident.reference, card_ts))
    await harness.settle()

    other = ticket_click(cards.CLAIM, incident.reference, card_ts)
    other["user"] = {"id": "U0ANNASUPP", "username": "anna.support", "name": "anna.support"}
    other["response_url"] = harness.api.response_url()
    await harness.interact(other)
    await harness.settle()

    [refusal] = harness.api.called("response_url")
    assert "already claimed by ravi.support" in refusal.args["text"]
    assert (await tickets(harness))[0].assignee == "ravi.support"


async def test_resolve_asks_for_a_note_then_closes_the_card_and_tells_the_reporter(
    harness: SlackHarness,
) -> None:
    incident, card_ts = await reported(harness)
    await harness.interact(ticket_click(cards.RESOLVE, incident.reference, card_ts))
    [opened] = await harness.api.wait_for("views.open")
    view = opened.args["view"]
    assert view["callback_id"] == modals.RESOLVE_CALLBACK

    def submission(note: str) -> dict[str, Any]:
        payload = fixture("view_submission_incident")
        payload["user"] = {"id": STAFF, "username": "ravi.support", "name": "ravi.support"}
        payload["view"].update(
            id="V0RESOLVE01",
            callback_id=modals.RESOLVE_CALLBACK,
            private_metadata=view["private_metadata"],
            state={
                "values": {
                    "resolution": {"resolution": {"type": "plain_text_input", "value": note}}
                }
            },
        )
        return payload

    empty = await harness.interact(submission(""))
    done = await harness.interact(submission("Chat deleted with the vendor; no further action."))
    await harness.settle()

    assert empty.json() == {
        "response_action": "errors",
        "errors": {"resolution": modals.REQUIRED_ERROR},
    }
    assert done.text == ""
    [update] = harness.api.called("chat.update")
    assert update.args["ts"] == card_ts
    assert "Resolved" in block(update.args["blocks"], "ticket_header")["text"]["text"]
    assert button_ids(update.args["blocks"]) == []
    assert (
        "Chat deleted with the vendor"
        in block(update.args["blocks"], "ticket_resolution")["text"]["text"]
    )
    told = [c.args["text"] for c in dms_to(harness, "D0MEICHAN1")]
    assert any("has been resolved" in t and "Chat deleted with the vendor" in t for t in told)
    assert (await tickets(harness))[0].state is TicketState.RESOLVED


async def test_ticket_buttons_outside_the_support_channel_are_refused(
    harness: SlackHarness,
) -> None:
    incident, card_ts = await reported(harness)
    payload = ticket_click(cards.CLAIM, incident.reference, card_ts)
    payload["container"]["channel_id"] = "C0FINANCE1"
    payload["response_url"] = harness.api.response_url()

    await harness.interact(payload)
    await harness.settle()

    [refusal] = harness.api.called("response_url")
    assert refusal.args["text"] == interactions.NOT_SUPPORT_CHANNEL_TEXT
    assert (await tickets(harness))[0].state is TicketState.OPEN


async def test_ask_a_person_escalates_with_the_answer_and_confirms_privately(
    harness: SlackHarness,
) -> None:
    answer = await ask(harness)
    value = action_values(answer.args["blocks"])[render.ASK_PERSON]

    payload = click("block_actions_button", render.ASK_PERSON, value)
    await harness.interact(payload | {"response_url": harness.api.response_url()})
    await harness.interact(payload | {"response_url": harness.api.response_url()})
    await harness.settle()

    [ticket] = await tickets(harness)
    assert ticket.kind is TicketKind.ESCALATION
    assert ticket.details["question"] == "Can I paste customer data into ChatGPT?"
    assert ticket.details["answer"]
    [card] = support_posts(harness)
    assert "The bot's answer" in block(card.args["blocks"], "ticket_details")["text"]["text"]
    confirmations = harness.api.called("response_url")
    assert all(ticket.reference in c.args["text"] for c in confirmations)


async def test_slash_report_opens_the_modal_and_slash_feedback_is_queued(
    harness: SlackHarness,
) -> None:
    report = await harness.command("report")
    [opened] = await harness.api.wait_for("views.open")
    usage = await harness.command("feedback")
    sent = await harness.command("feedback the policy should allow Copilot for interns")
    await harness.settle()

    assert (report.status, report.text) == (200, "")
    assert opened.args["trigger_id"] == fixture("slash_command")["trigger_id"]
    assert usage.json()["text"] == commands.FEEDBACK_USAGE_TEXT
    assert sent.text == ""
    [ticket] = await tickets(harness)
    assert (ticket.kind, ticket.body) == (
        TicketKind.FEEDBACK,
        "the policy should allow Copilot for interns",
    )
    [confirmation] = harness.api.called("response_url")
    assert ticket.reference in confirmation.args["text"]
    assert json.dumps(support_posts(harness)[0].args["blocks"])


async def test_a_change_made_outside_slack_updates_the_card_too(harness: SlackHarness) -> None:
    incident, card_ts = await reported(harness)

    await harness.context.assistant.desk.claim(incident.reference, "anna (web console)")
    await harness.settle()

    [update] = harness.api.called("chat.update")
    assert update.args["ts"] == card_ts
    assert "claimed by anna (web console)" in json.dumps(update.args["blocks"])


async def test_another_process_updates_the_card_this_one_posted(harness: SlackHarness) -> None:
    """The card's location is in the shared store: a notifier that never saw the card
    (another server process) updates it instead of posting a second card."""
    from adapters.slack.support import SlackNotifier
    from bot.store.deliveries import CardMemory

    incident, card_ts = await reported(harness)
    other = SlackNotifier(
        harness.runtime.client,
        SUPPORT_CHANNEL,
        cards=CardMemory(harness.context.assistant.store, "slack"),
    )
    assert await other.card_of(incident.reference) == (SUPPORT_CHANNEL, card_ts)

    ticket = await harness.context.assistant.desk.claim(incident.reference, "ben (process B)")
    posts_before = len(harness.api.called("chat.postMessage"))
    await other.post_ticket(ticket, event="claimed")

    assert len(harness.api.called("chat.postMessage")) == posts_before
    assert any(call.args["ts"] == card_ts for call in harness.api.called("chat.update"))


async def test_mentions_and_links_in_a_report_stay_text_on_the_card(
    harness: SlackHarness,
) -> None:
    lure = "<!channel> urgent <https://evil.example/login|Re-login> now"
    await submit_incident(harness, what_happened=lure)
    await harness.settle()

    [card] = support_posts(harness)
    everything = json.dumps(card.args)
    assert "<!channel>" not in everything and "<https://evil" not in everything
    assert "&lt;!channel&gt;" in card.args["text"]


async def test_the_incident_conversation_shows_its_step_and_its_buttons_answer_in_the_thread(
    harness: SlackHarness,
) -> None:
    opening = await ask(harness, "I pasted our client list into DeepSeek by mistake")
    blocks = opening.args["blocks"]
    progress = block(blocks, "progress")["elements"][0]["text"]
    assert progress == ":memo: *Reporting an AI incident · step 3 of 7*"
    [cancel] = block(blocks, "conversation_steps")["elements"]
    assert (cancel["text"]["text"], cancel["value"]) == ("Cancel", "cancel")
    thread = opening.args["thread_ts"]

    # A question in the thread is answered and the pending question asked again.
    await harness.event(
        event_payload(
            "dm_message",
            text="Can I paste customer data into ChatGPT?",
            thread_ts=thread,
            ts="1736929900.000001",
        )
    )
    aside = (await harness.api.wait_for("chat.postMessage", count=2))[-1]
    assert "Back to your incident report:" in aside.args["text"]
    assert block(aside.args["blocks"], "sources")
    assert await tickets(harness) == []

    payload = click("block_actions_button", cancel["action_id"], "cancel", thread_ts=thread)
    payload["message"]["thread_ts"] = thread
    await harness.interact(payload)
    cancelled = (await harness.api.wait_for("chat.postMessage", count=3))[-1]
    assert cancelled.args["thread_ts"] == thread
    assert cancelled.args["text"].startswith("Cancelled: I haven't sent anything")
    assert await tickets(harness) == []


async def test_not_helpful_keeps_ask_a_person_for_the_same_answer(harness: SlackHarness) -> None:
    answer = await ask(harness)
    value = action_values(answer.args["blocks"])["not_helpful"]
    payload = click("block_actions_feedback", render.FEEDBACK, value)
    await harness.interact(payload | {"response_url": harness.api.response_url()})
    await harness.settle()
    [thanks] = harness.api.called("response_url")
    assert "choose Ask a person" not in thanks.args["text"]
    ask_value = action_values(thanks.args["blocks"])[render.ASK_PERSON]
    assert render.decode_action_value(ask_value)["a"] == render.split_feedback_value(value)[1]["a"]


async def test_reply_to_reporter_from_the_card_is_delivered_and_confirmed(
    harness: SlackHarness,
) -> None:
    incident, card_ts = await reported(harness)
    await harness.interact(ticket_click(cards.REPLY, incident.reference, card_ts))
    [opened] = await harness.api.wait_for("views.open")
    view = opened.args["view"]
    assert view["callback_id"] == modals.REPLY_CALLBACK
    payload = fixture("view_submission_incident")
    payload["user"] = {"id": STAFF, "username": "ravi.support", "name": "ravi.support"}
    payload["view"].update(
        id="V0REPLY01",
        callback_id=modals.REPLY_CALLBACK,
        private_metadata=view["private_metadata"],
        state={
            "values": {"reply": {"reply": {"type": "plain_text_input", "value": "Which tool?"}}}
        },
    )
    await harness.interact(payload)
    await harness.settle()
    told = [c.args["text"] for c in dms_to(harness, "D0MEICHAN1")]
    assert any(
        "ravi.support from the support team replied" in t and "Which tool?" in t for t in told
    )
    [confirmation] = harness.api.called("chat.postEphemeral")
    assert confirmation.args["text"] == f"{incident.reference}: Reply sent to the reporter."
    detail = await harness.context.assistant.desk.show(incident.reference)
    assert ("replied", "Which tool?") in [(e.action, e.detail) for e in detail.events]


async def test_reassign_and_unassign_from_the_card_update_it_and_the_audit_trail(
    harness: SlackHarness,
) -> None:
    incident, card_ts = await reported(harness)
    await harness.interact(ticket_click(cards.REASSIGN, incident.reference, card_ts))
    [opened] = await harness.api.wait_for("views.open")
    view = opened.args["view"]
    assert view["callback_id"] == modals.REASSIGN_CALLBACK

    def submission(name: str) -> dict[str, Any]:
        payload = fixture("view_submission_incident")
        payload["user"] = {"id": STAFF, "username": "ravi.support", "name": "ravi.support"}
        payload["view"].update(
            id="V0REASSIGN1",
            callback_id=modals.REASSIGN_CALLBACK,
            private_metadata=view["private_metadata"],
            state={
                "values": {"assignee": {"assignee": {"type": "plain_text_input", "value": name}}}
            },
        )
        return payload

    empty = await harness.interact(submission("  "))
    assert empty.json() == {
        "response_action": "errors",
        "errors": {"assignee": modals.REQUIRED_ERROR},
    }
    await harness.interact(submission("anna.support"))
    await harness.settle()
    [update] = harness.api.called("chat.update")
    assert update.args["ts"] == card_ts
    status = block(update.args["blocks"], "ticket_status")["elements"][0]["text"]
    assert "claimed by anna.support" in status
    assert cards.UNASSIGN in button_ids(update.args["blocks"])
    [confirmation] = harness.api.called("chat.postEphemeral")
    assert confirmation.args["text"] == f"{incident.reference}: Ticket reassigned."

    release = ticket_click(cards.UNASSIGN, incident.reference, card_ts)
    release["response_url"] = harness.api.response_url()
    await harness.interact(release)
    await harness.settle()
    updates = harness.api.called("chat.update")
    assert len(updates) == 2 and updates[-1].args["ts"] == card_ts
    assert "Open" in block(updates[-1].args["blocks"], "ticket_header")["text"]["text"]
    assert button_ids(updates[-1].args["blocks"])[0] == cards.CLAIM
    [said] = harness.api.called("response_url")
    assert said.args["text"] == f"{incident.reference}: Ticket unassigned: it is back in the queue."
    trail = (await harness.context.assistant.desk.show(incident.reference)).events
    assert [(e.actor, e.action, e.detail) for e in trail[-2:]] == [
        ("ravi.support", "reassigned", "nobody -> anna.support"),
        ("ravi.support", "unassigned", "anna.support"),
    ]
    assert len(support_posts(harness)) == 1


async def test_a_form_slack_will_not_open_is_explained_to_whoever_clicked(
    harness: SlackHarness,
) -> None:
    incident, card_ts = await reported(harness)
    harness.api.fail("views.open", "expired_trigger_id", times=3)
    for action_id in (cards.RESOLVE, cards.REPLY, cards.REASSIGN):
        clicked = ticket_click(action_id, incident.reference, card_ts)
        clicked["response_url"] = harness.api.response_url()
        await harness.interact(clicked)
    await harness.settle()
    said = [c.args["text"] for c in harness.api.called("response_url")]
    assert said == [interactions.TRIGGER_EXPIRED_TEXT] * 3
