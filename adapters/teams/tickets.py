"""Card actions and feedback that reach the hand-off service: incident form, "Ask a person",
thumbs up/down, and the support channel's Claim / Reply / Reassign / Unassign / Resolve.

Employees' actions call the assistant's typed methods (``rate_answer``,
``submit_incident_form``, ``ask_person``), which return a :class:`bot.models.Reply` like
any question; staff actions go to ``assistant.desk``. The core queues the notifications
(support card, reporter's chat) and :class:`adapters.teams.notifier.TeamsNotifier` delivers
them. Every submission carries the activity's dedupe key as its idempotency key: a resent
activity finds the first ticket instead of opening another.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from botbuilder.core import TurnContext

from adapters.teams import payloads
from adapters.teams.connector import send, serialize_reference, update
from adapters.teams.dedupe import event_id
from adapters.teams.support import SupportChannel, channel_id
from bot.errors import HandoffError
from bot.handoff.cards import CONFIRMATIONS
from bot.handoff.incident import INCIDENT_FORM
from bot.handoff.keys import idempotency_key
from bot.handoff.ports import Reporter
from bot.handoff.tickets import Ticket
from bot.models import Action, Reply

log = logging.getLogger(__name__)

PLATFORM = "teams"
INCIDENT_FIELDS = tuple(
    payloads.FormField(f.name, f.label, required=f.required, multiline=f.multiline)
    for f in INCIDENT_FORM
)


def reporter_of(turn_context: TurnContext) -> Reporter:
    """The sender, with a reference that reaches them again in this chat."""
    activity = turn_context.activity
    sender = activity.from_property
    return Reporter(
        platform=PLATFORM,
        user_id=sender.aad_object_id or sender.id,
        conversation_ref=serialize_reference(TurnContext.get_conversation_reference(activity)),
        display_name=sender.name,
    )


def message_ref(conversation_id: str, activity_id: str) -> str:
    """The store's key of a bot message: Teams activity ids repeat across conversations."""
    return f"{channel_id(conversation_id)}|{activity_id}"


def event_key(turn_context: TurnContext) -> str | None:
    key = event_id(turn_context.activity)
    return idempotency_key(PLATFORM, key) if key else None


class TeamsTickets:
    """Routes our card actions to the assistant; ``assistant`` is the server's one."""

    def __init__(self, assistant: Any, support: SupportChannel) -> None:
        self.assistant = assistant
        self.support = support

    async def link_answer(self, answer_id: str, conversation_id: str, activity_id: str) -> None:
        await self.assistant.link_answer(
            answer_id, platform=PLATFORM, message_ref=message_ref(conversation_id, activity_id)
        )

    async def feedback(self, turn_context: TurnContext, feedback: payloads.Feedback) -> None:
        """Store thumbs up/down; a thumbs down also lands in the support queue."""
        if not feedback.answer_activity_id:
            log.warning("teams: feedback without the message it rates")
            return
        reply = await self.assistant.rate_answer(
            reporter_of(turn_context),
            helpful=feedback.helpful,
            comment=feedback.comment,
            message_ref=message_ref(
                turn_context.activity.conversation.id, feedback.answer_activity_id
            ),
            idempotency_key=event_key(turn_context),
        )
        if reply.field_errors:
            log.warning("teams: feedback not stored: %s", reply.text)
        elif reply.reference:  # a thumbs down became a ticket: say so, offer a person
            await send(turn_context, payloads.answer_activity(reply))

    async def card_submit(self, turn_context: TurnContext, submit: payloads.CardSubmit) -> bool:
        """Handle one of the ticket actions; False if ``submit`` is none of them."""
        handler = {
            Action.REPORT_INCIDENT.value: self.open_incident_form,
            payloads.INCIDENT_SUBMIT: self.submit_incident,
            Action.ASK_PERSON.value: self.ask_person,
            "claim": self.claim,
            "resolve": self.resolve,
            "reply": self.reply_to_reporter,
            "reassign": self.reassign,
            "unassign": self.unassign,
        }.get(submit.name)
        if handler is None:
            return False
        await handler(turn_context, submit)
        return True

    async def open_incident_form(
        self, turn_context: TurnContext, submit: payloads.CardSubmit
    ) -> None:
        await send(turn_context, payloads.card_activity(payloads.incident_card(INCIDENT_FIELDS)))

    async def submit_incident(self, turn_context: TurnContext, submit: payloads.CardSubmit) -> None:
        values = payloads.form_values(submit.data, INCIDENT_FIELDS)
        reply: Reply = await self.assistant.submit_incident_form(
            reporter_of(turn_context), values, idempotency_key=event_key(turn_context)
        )
        if reply.field_errors:
            await self._replace_card(
                turn_context,
                submit,
                payloads.card_activity(
                    payloads.incident_card(
                        INCIDENT_FIELDS, values=values, errors=reply.field_errors
                    )
                ),
            )
            return
        receipt = payloads.submitted_card(
            f"Sent to the support team: {reply.reference}",
            [f"What happened: {values['what_happened']}"],
        )
        await self._replace_card(turn_context, submit, payloads.card_activity(receipt))
        await send(turn_context, payloads.answer_activity(reply))

    async def ask_person(self, turn_context: TurnContext, submit: payloads.CardSubmit) -> None:
        reply: Reply = await self.assistant.ask_person(
            reporter_of(turn_context),
            answer_id=submit.data.get("answer_id") or None,
            question=submit.data.get("question") or None,
            idempotency_key=event_key(turn_context),
        )
        await send(turn_context, payloads.answer_activity(reply))

    async def claim(self, turn_context: TurnContext, submit: payloads.CardSubmit) -> None:
        await self._staff_action(
            turn_context, submit, lambda ref, actor: self.assistant.desk.claim(ref, actor)
        )

    async def resolve(self, turn_context: TurnContext, submit: payloads.CardSubmit) -> None:
        note = str(submit.data.get("resolution") or "").strip()
        await self._staff_action(
            turn_context,
            submit,
            lambda ref, actor: self.assistant.desk.resolve(ref, actor, note),
        )

    async def reassign(self, turn_context: TurnContext, submit: payloads.CardSubmit) -> None:
        """Hand the ticket to the person named on the card (recorded in the audit trail)."""
        assignee = str(submit.data.get("assignee") or "").strip()
        if await self._staff_action(
            turn_context,
            submit,
            lambda ref, actor: self.assistant.desk.reassign(ref, actor, assignee),
        ):
            await send(turn_context, payloads.text_activity(CONFIRMATIONS["reassign"]))

    async def unassign(self, turn_context: TurnContext, submit: payloads.CardSubmit) -> None:
        """Put the ticket back in the queue for anyone to claim."""
        if await self._staff_action(
            turn_context, submit, lambda ref, actor: self.assistant.desk.unassign(ref, actor)
        ):
            await send(turn_context, payloads.text_activity(CONFIRMATIONS["unassign"]))

    async def reply_to_reporter(
        self, turn_context: TurnContext, submit: payloads.CardSubmit
    ) -> None:
        """Staff's reply from the card, sent to the reporter on their platform."""
        text = str(submit.data.get("reply_text") or "").strip()
        if await self._staff_action(
            turn_context,
            submit,
            lambda ref, actor: self.assistant.desk.reply(ref, actor, text),
        ):
            await send(turn_context, payloads.text_activity(CONFIRMATIONS["reply"]))

    async def _staff_action(
        self,
        turn_context: TurnContext,
        submit: payloads.CardSubmit,
        act: Callable[[str, str], Awaitable[Ticket]],
    ) -> bool:
        """A staff action from the card (True if it worked); the desk's delivery
        then updates the card.

        Only from the support channel: whoever can see that channel is support staff.
        """
        if not self.support.is_support(turn_context.activity):
            await send(
                turn_context,
                payloads.text_activity("Ticket actions work only in the support channel."),
            )
            return False
        reference = str(submit.data.get("ticket") or "")
        actor = turn_context.activity.from_property.name or reporter_of(turn_context).user_id
        try:
            await act(reference, actor)
        except HandoffError as exc:  # taken by someone else, already resolved, note missing
            await send(turn_context, payloads.text_activity(str(exc)))
            return False
        return True

    async def _replace_card(
        self, turn_context: TurnContext, submit: payloads.CardSubmit, card: payloads.Payload
    ) -> None:
        if submit.card_activity_id:
            await update(turn_context, submit.card_activity_id, card)
        else:
            await send(turn_context, card)
