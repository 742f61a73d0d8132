"""Buttons and modals: feedback, "Report an AI incident", "Ask a person", and the ticket
card's Claim, Reply, Reassign, Unassign and Resolve.

Every handler acknowledges first. A modal is opened right after the acknowledgement (its
``trigger_id`` lives 3 seconds); a submitted modal is checked before the acknowledgement,
so an empty required field comes back under that field (``response_action: errors``).
Everything that touches the store runs afterwards as background work, and its outcome is
told to the person who clicked: ephemerally where they clicked, or in their DM with the app.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import cards, events, modals, questions, render, web
from bot.errors import HandoffError
from bot.handoff.cards import CONFIRMATIONS
from bot.handoff.keys import idempotency_key
from bot.handoff.ports import Reporter
from bot.models import Message, Reply

if TYPE_CHECKING:
    from adapters.slack.app import SlackRuntime

log = logging.getLogger(__name__)

TRIGGER_EXPIRED_TEXT = (
    "Sorry, Slack closed that form before it opened. Please click the button again, "
    "or use /genai-policy report."
)
NOT_SUPPORT_CHANNEL_TEXT = "Tickets can only be worked on in the support channel."


def clicked_message(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """``(channel, message_ts)`` of the message whose button was clicked."""
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
    return channel, ts


def reporter_of(body: dict[str, Any], channel: str | None = None) -> Reporter:
    """The person who clicked or submitted; a DM channel is kept for reaching them later."""
    return Reporter(
        platform=events.PLATFORM,
        user_id=body["user"]["id"],
        conversation_ref=events.dm_channel(channel),
    )


def said_message(body: dict[str, Any], action: dict[str, Any]) -> Message:
    """A step button's words as the person's next message in the thread it was clicked in
    (the incident conversation is kept per thread)."""
    channel, ts = clicked_message(body)
    clicked = body.get("message") or {}
    thread = (body.get("container") or {}).get("thread_ts") or clicked.get("thread_ts") or ts
    return Message(
        text=str(action.get("value") or ""),
        user_id=body["user"]["id"],
        platform=events.PLATFORM,
        conversation_id=channel or body["user"]["id"],
        message_id=str(action.get("action_ts") or ts),
        thread_id=thread,
        conversation_ref=events.dm_channel(channel),
        reply_to=events.note_address(channel, thread),
    )


def staff_name(body: dict[str, Any]) -> str:
    """How a support staff member appears on tickets: their Slack handle, else their id."""
    user = body.get("user") or {}
    return str(user.get("username") or user.get("name") or user["id"])


def key(*parts: object) -> str:
    """An idempotency key: a repeated click or submission finds the first ticket."""
    return idempotency_key("slack", *parts)


async def privately(respond: AsyncRespond, text: str) -> None:
    """A short message only the person who clicked sees, where they clicked."""
    await respond(text=render.escape(text), response_type="ephemeral", replace_original=False)


async def tell(respond: AsyncRespond, reply: Reply) -> None:
    """The outcome of a click, shown only to the person who clicked (with what it still
    offers: after "Not helpful", "Ask a person" for the same answer)."""
    value = render.encode_action_value(answer_id=reply.answer_id) if reply.answer_id else ""
    response = await respond(
        text=render.reply_text(reply),
        blocks=render.reply_blocks(reply, action_value=value),
        response_type="ephemeral",
        replace_original=False,
    )
    if response.status_code != 200:
        log.warning("slack: response_url refused a reply: HTTP %s", response.status_code)


async def direct_message(client: AsyncWebClient, user_id: str, reply: Reply) -> None:
    await web.post_or_apologise(
        lambda: client.chat_postMessage(
            channel=user_id,
            text=render.reply_text(reply),
            blocks=render.reply_blocks(reply),
            unfurl_links=False,
        ),
        lambda: client.chat_postMessage(channel=user_id, text=render.ANSWER_FAILED_TEXT),
    )


async def open_form(client: AsyncWebClient, trigger_id: str, view: dict[str, Any]) -> bool:
    """Open a modal; False if Slack refused (mostly an expired ``trigger_id``: it lives 3
    seconds), logged with the form's callback id."""
    try:
        await client.views_open(trigger_id=trigger_id, view=view)
        return True
    except SlackApiError as exc:
        log.warning(
            "slack: could not open a form: %s",
            web.error_code(exc),
            extra={"form": view.get("callback_id")},
        )
        return False


async def open_incident_modal(
    runtime: SlackRuntime, client: AsyncWebClient, trigger_id: str, channel: str | None
) -> bool:
    """Open the incident modal (``channel``: where it was asked for); False if Slack
    refused (an expired trigger, mostly)."""
    view = modals.incident_modal(
        {"channel": channel or ""}, max_chars=runtime.context.settings.ticket_field_max_chars
    )
    return await open_form(client, trigger_id, view)


def register(bolt: AsyncApp, runtime: SlackRuntime) -> None:
    """Add the button and modal listeners."""

    @bolt.action(render.FEEDBACK)
    async def feedback(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        helpful, value = render.split_feedback_value(str(action.get("value") or ""))
        channel, ts = clicked_message(body)
        reporter = reporter_of(body, channel)

        async def rate() -> None:
            reply = await runtime.assistant.rate_answer(
                reporter,
                helpful=helpful,
                answer_id=value.get("a"),
                question=value.get("q"),
                idempotency_key=key("rating", channel, ts, reporter.user_id, helpful),
            )
            await tell(respond, reply)

        runtime.work.spawn(rate(), name="rate_answer")

    @bolt.action(render.ASK_PERSON)
    async def ask_person(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        value = render.decode_action_value(action.get("value"))
        channel, ts = clicked_message(body)
        reporter = reporter_of(body, channel)

        async def escalate() -> None:
            reply = await runtime.assistant.ask_person(
                reporter,
                answer_id=value.get("a"),
                question=value.get("q"),
                idempotency_key=key("escalate", channel, ts, reporter.user_id),
            )
            await tell(respond, reply)

        runtime.work.spawn(escalate(), name="ask_person")

    @bolt.action(re.compile(f"^{render.SAY}"))
    async def say(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        message = said_message(body, action)
        runtime.work.spawn(
            questions.answer(runtime, client, message, surface="button"), name="answer_button"
        )

    @bolt.action(render.REPORT_INCIDENT)
    async def report_incident(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        channel, _ = clicked_message(body)
        if not await open_incident_modal(runtime, client, body["trigger_id"], channel):
            await privately(respond, TRIGGER_EXPIRED_TEXT)

    @bolt.view(modals.INCIDENT_CALLBACK)
    async def incident_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        values = modals.submitted_values(view)
        errors = modals.missing_fields(values, modals.incident_required())
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        metadata = modals.decode_metadata(view.get("private_metadata"))
        reporter = reporter_of(body, metadata.get("channel"))

        async def submit() -> None:
            reply = await runtime.assistant.submit_incident_form(
                reporter, values, idempotency_key=key("incident", view.get("id"))
            )
            log.info(
                "slack: incident form submitted",
                extra={"reference": reply.reference, "field_errors": sorted(reply.field_errors)},
            )
            await direct_message(client, reporter.user_id, reply)

        runtime.work.spawn(submit(), name="incident_form")

    register_card_button(
        bolt, runtime, cards.CLAIM, "claim", lambda ref, who: runtime.assistant.desk.claim(ref, who)
    )

    register_card_form(bolt, runtime, cards.RESOLVE, modals.resolve_modal)

    @bolt.view(modals.RESOLVE_CALLBACK)
    async def resolve_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        values = modals.submitted_values(view)
        errors = modals.missing_fields(values, [modals.RESOLUTION_FIELD])
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        metadata = modals.decode_metadata(view.get("private_metadata"))
        reference = metadata.get("reference", "")
        if metadata.get("channel") and metadata.get("ts"):
            await runtime.notifier.remember_card(reference, metadata["channel"], metadata["ts"])

        async def close() -> None:
            try:
                await runtime.assistant.desk.resolve(
                    reference, staff_name(body), values[modals.RESOLUTION_FIELD]
                )
            except HandoffError as exc:
                staff = body["user"]["id"]
                await client.chat_postMessage(channel=staff, text=render.escape(str(exc)))

        runtime.work.spawn(close(), name="resolve")


def register_reply(bolt: AsyncApp, runtime: SlackRuntime) -> None:
    """ "Reply to reporter" on a ticket card: a form, then the reply goes out through the
    outbox on the reporter's platform, with a line in the audit trail."""

    register_card_form(bolt, runtime, cards.REPLY, modals.reply_modal)

    @bolt.view(modals.REPLY_CALLBACK)
    async def reply_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        values = modals.submitted_values(view)
        errors = modals.missing_fields(values, [modals.REPLY_FIELD])
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        reference = modals.decode_metadata(view.get("private_metadata")).get("reference", "")
        staff = body["user"]["id"]

        async def send() -> None:
            try:
                await runtime.assistant.desk.reply(
                    reference, staff_name(body), values[modals.REPLY_FIELD]
                )
                outcome = f"{reference}: {CONFIRMATIONS['reply']}"
            except HandoffError as exc:
                outcome = str(exc)
            await tell_staff(client, runtime, staff, outcome)

        runtime.work.spawn(send(), name="reply")


def register_assignment(bolt: AsyncApp, runtime: SlackRuntime) -> None:
    """Reassign (a form asking whom to) and Unassign (back to the queue) on a ticket card.
    The core's card decides when they are offered and the core records both in the audit
    trail; the card is updated in place through the outbox like any other change."""

    register_card_form(bolt, runtime, cards.REASSIGN, modals.reassign_modal)

    @bolt.view(modals.REASSIGN_CALLBACK)
    async def reassign_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        values = modals.submitted_values(view)
        errors = modals.missing_fields(values, [modals.ASSIGNEE_FIELD])
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        metadata = modals.decode_metadata(view.get("private_metadata"))
        reference = metadata.get("reference", "")
        if metadata.get("channel") and metadata.get("ts"):
            await runtime.notifier.remember_card(reference, metadata["channel"], metadata["ts"])
        staff = body["user"]["id"]

        async def hand_over() -> None:
            try:
                await runtime.assistant.desk.reassign(
                    reference, staff_name(body), values[modals.ASSIGNEE_FIELD].strip()
                )
                outcome = f"{reference}: {CONFIRMATIONS['reassign']}"
            except HandoffError as exc:
                outcome = str(exc)
            await tell_staff(client, runtime, staff, outcome)

        runtime.work.spawn(hand_over(), name="reassign")

    register_card_button(
        bolt,
        runtime,
        cards.UNASSIGN,
        "unassign",
        lambda ref, who: runtime.assistant.desk.unassign(ref, who),
        confirm=True,
    )


@dataclass(frozen=True)
class CardClick:
    """A click on a ticket card: the card's message and the ticket it is about."""

    channel: str | None
    ts: str | None
    reference: str


async def card_click(
    runtime: SlackRuntime,
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
) -> CardClick | None:
    """How every ticket card button starts: acknowledge the click, then the clicked card, or
    None (the clicker told privately why) outside the support channel."""
    await ack()
    channel, ts = clicked_message(body)
    if not in_support_channel(runtime, channel):
        await privately(respond, NOT_SUPPORT_CHANNEL_TEXT)
        return None
    return CardClick(channel, ts, str(action.get("value") or ""))


def register_card_form(
    bolt: AsyncApp,
    runtime: SlackRuntime,
    action_id: str,
    modal: Callable[[str, Mapping[str, str]], dict[str, Any]],
) -> None:
    """A ticket card button that opens a form (Resolve, Reply, Reassign): only in the support
    channel, and the form carries the card's address so the submission updates that card."""

    @bolt.action(action_id)
    async def open_card_form(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
    ) -> None:
        card = await card_click(runtime, ack, body, action, respond)
        if card is None:
            return
        view = modal(card.reference, {"channel": card.channel or "", "ts": card.ts or ""})
        if not await open_form(client, body["trigger_id"], view):
            await privately(respond, TRIGGER_EXPIRED_TEXT)


def register_card_button(
    bolt: AsyncApp,
    runtime: SlackRuntime,
    action_id: str,
    verb: str,
    act: Callable[[str, str], Awaitable[object]],
    *,
    confirm: bool = False,
) -> None:
    """A ticket card button that acts at once (Claim, Unassign): only in the support
    channel; the clicked card is remembered so the change updates it; a refusal (and, with
    ``confirm``, the outcome) is told only to whoever clicked."""

    @bolt.action(action_id)
    async def act_on_card(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        card = await card_click(runtime, ack, body, action, respond)
        if card is None:
            return
        if card.channel and card.ts:
            await runtime.notifier.remember_card(card.reference, card.channel, card.ts)

        async def run() -> None:
            try:
                await act(card.reference, staff_name(body))
                if confirm:
                    await privately(respond, f"{card.reference}: {CONFIRMATIONS[verb]}")
            except HandoffError as exc:
                await privately(respond, str(exc))

        runtime.work.spawn(run(), name=verb)


async def tell_staff(
    client: AsyncWebClient, runtime: SlackRuntime, staff: str, outcome: str
) -> None:
    """The outcome of a submitted card form, shown only to the staff member who sent it."""
    await client.chat_postEphemeral(
        channel=runtime.settings.support_channel or staff,
        user=staff,
        text=render.escape(outcome),
    )


def in_support_channel(runtime: SlackRuntime, channel: str | None) -> bool:
    return channel is not None and channel == runtime.settings.support_channel
