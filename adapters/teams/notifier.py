"""The Teams side of :class:`bot.handoff.ports.Notifier`: reporters' chats and the support channel.

A ticket's card is posted once to the support channel and then updated in place on every
change (claim, resolve, reopen), wherever the change was made: a Teams button, the web
console or ``policybot tickets`` in a shell. Delivery is at-least-once, so posting is keyed
by ticket reference: a repeat updates the card instead of posting a second one.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from botbuilder.schema import ConversationAccount, ConversationReference

from adapters.teams import payloads
from adapters.teams.connector import deserialize_reference, post_proactive, update_proactive
from adapters.teams.support import channel_id
from bot.handoff.announcements import Announcement
from bot.handoff.cards import ticket_card
from bot.handoff.ports import Notifier, Reporter
from bot.handoff.tickets import Ticket
from bot.models import Reply
from bot.store import Store
from bot.store.deliveries import CardAddress, CardMemory

if TYPE_CHECKING:
    from adapters.teams.endpoint import TeamsRuntime

log = logging.getLogger(__name__)

PLATFORM = "teams"


class TicketCards:
    """Which support-channel message shows which ticket, in the shared store, so every
    server process updates the same card."""

    def __init__(self, store: Store) -> None:
        self.memory = CardMemory(store, PLATFORM)

    async def get(self, reference: str) -> CardAddress | None:
        return await asyncio.to_thread(self.memory.recall, reference)

    async def remember(self, reference: str, conversation_id: str, activity_id: str) -> None:
        address = CardAddress(conversation_id, activity_id)
        await asyncio.to_thread(self.memory.remember, reference, address)


class TeamsNotifier(Notifier):
    platform = PLATFORM

    def __init__(self, runtime: TeamsRuntime, cards: TicketCards) -> None:
        self.runtime = runtime
        self.cards = cards

    async def notify_reporter(self, reporter: Reporter, text: str) -> None:
        if not reporter.conversation_ref:
            raise LookupError(f"no Teams conversation to reach {reporter.user_id}")
        await post_proactive(
            self.runtime.adapter,
            deserialize_reference(reporter.conversation_ref),
            payloads.text_activity(text),
            app_id=self.runtime.settings.app_id,
        )

    async def send_note(self, address: str, reply: Reply) -> None:
        """Post a stale-answer note into the conversation the answer was given in (the
        stored reference has no user: a proactive send does not need one), drawn like any
        answer, with its citations."""
        await post_proactive(
            self.runtime.adapter,
            deserialize_reference(address),
            payloads.answer_activity(reply),
            app_id=self.runtime.settings.app_id,
        )

    async def post_ticket(self, ticket: object, *, event: str) -> None:
        assert isinstance(ticket, Ticket)
        reference = self.runtime.support.reference()
        if reference is None:
            raise LookupError(
                "no Teams support channel: set POLICYBOT_TEAMS_SUPPORT_CONVERSATION or send "
                "'admin support-channel' in it"
            )
        zone = self.runtime.bot.assistant.zone
        card = payloads.card_activity(payloads.ticket_card(ticket_card(ticket), zone=zone))
        app_id = self.runtime.settings.app_id
        posted = await self.cards.get(ticket.reference)
        if posted is not None and posted.conversation == reference.conversation.id:
            await update_proactive(
                self.runtime.adapter, reference, posted.message, card, app_id=app_id
            )
            return
        activity_id = await post_proactive(self.runtime.adapter, reference, card, app_id=app_id)
        if activity_id:
            await self.cards.remember(ticket.reference, reference.conversation.id, activity_id)
        log.info("teams: posted %s (%s) to the support channel", ticket.reference, event)

    async def post_announcement(self, announcement: object, channel: str) -> None:
        """Post a policy-change summary card to the Teams channel ``channel`` (a conversation
        id); the support channel's learnt reference lends its exact serviceUrl when it is
        the same channel."""
        assert isinstance(announcement, Announcement)
        settings = self.runtime.settings
        reference = self.runtime.support.reference()
        if reference is None or channel_id(reference.conversation.id) != channel_id(channel):
            reference = ConversationReference(
                channel_id="msteams",
                service_url=settings.service_url,
                conversation=ConversationAccount(
                    id=channel,
                    is_group=True,
                    conversation_type="channel",
                    tenant_id=settings.app_tenant_id,
                ),
            )
        card = payloads.card_activity(
            payloads.announcement_card(announcement), text=announcement.heading
        )
        await post_proactive(self.runtime.adapter, reference, card, app_id=settings.app_id)
        log.info("teams: posted announcement %s", announcement.id)
