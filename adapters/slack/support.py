"""The Slack side of the hand-off service's notifications: :class:`SlackNotifier`.

The core decides what to say (``bot.handoff.outbox`` hands each queued notification to the
notifier of the right platform); this posts it. Ticket cards go to the configured support
channel and are updated in place as the ticket moves; messages for a reporter go to their
DM with the app. Failures raise, so the outbox keeps the notification and retries it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from datetime import tzinfo

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import cards, web
from adapters.slack.render import escape, is_link, reply_blocks, reply_text
from bot.handoff.announcements import Announcement
from bot.handoff.ports import Notifier, Reporter
from bot.handoff.tickets import Ticket
from bot.models import Reply
from bot.store.deliveries import CardAddress, CardMemory

log = logging.getLogger(__name__)

PLATFORM = "slack"
# chat.update errors after which a new card is posted instead.
CARD_GONE = frozenset({"message_not_found", "cant_update_message", "channel_not_found"})


class SlackNotifier(Notifier):
    """Posts ticket cards to ``support_channel`` and DMs reporters on Slack.

    Which message is a ticket's card (the card a button was clicked on, the cards posted)
    is written to ``cards`` (the store, shared by every process) and kept in a small cache
    of the newest ``max_cards``, so a change made through another process, the CLI or the
    web console updates the existing card instead of posting a second one.
    """

    platform = PLATFORM

    def __init__(
        self,
        client: AsyncWebClient,
        support_channel: str | None,
        *,
        cards: CardMemory | None = None,
        max_cards: int = 10_000,
        zone: tzinfo | None = None,
    ) -> None:
        self.client = client
        self.zone = zone
        self.support_channel = support_channel
        self.cards = cards
        self.max_cards = max_cards
        self._cards: OrderedDict[str, tuple[str, str]] = OrderedDict()

    def _cache(self, reference: str, channel: str, ts: str) -> None:
        self._cards[reference] = (channel, ts)
        self._cards.move_to_end(reference)
        while len(self._cards) > self.max_cards:
            self._cards.popitem(last=False)

    async def remember_card(self, reference: str, channel: str, ts: str) -> None:
        self._cache(reference, channel, ts)
        if self.cards is not None:
            await asyncio.to_thread(self.cards.remember, reference, CardAddress(channel, ts))

    async def card_of(self, reference: str) -> tuple[str, str] | None:
        if reference in self._cards:
            return self._cards[reference]
        if self.cards is None:
            return None
        stored = await asyncio.to_thread(self.cards.recall, reference)
        if stored is None:
            return None
        self._cache(reference, stored.conversation, stored.message)
        return stored.conversation, stored.message

    async def notify_reporter(self, reporter: Reporter, text: str) -> None:
        # A user id as the channel posts in the app's DM with that user.
        channel = reporter.conversation_ref or reporter.user_id
        if not channel.startswith("D"):
            channel = reporter.user_id
        await self.client.chat_postMessage(channel=channel, text=escape(text))

    async def post_ticket(self, ticket: object, *, event: str) -> None:
        assert isinstance(ticket, Ticket)
        if self.support_channel is None:
            return
        blocks = cards.ticket_blocks(ticket, zone=self.zone)
        text = cards.ticket_text(ticket)
        card = await self.card_of(ticket.reference)
        if card is not None:
            channel, ts = card
            try:
                await self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
                return
            except SlackApiError as exc:
                if web.error_code(exc) not in CARD_GONE:
                    raise
                log.info("slack: the card of a ticket is gone; posting a new one")
        response = await self.client.chat_postMessage(
            channel=self.support_channel,
            text=text,
            blocks=blocks,
            unfurl_links=False,
            unfurl_media=False,
        )
        await self.remember_card(ticket.reference, response["channel"], response["ts"])
        log.info(
            "slack: posted a ticket card",
            extra={"event": event, "reference": ticket.reference},
        )

    async def send_note(self, address: str, reply: Reply) -> None:
        """Post a stale-answer note where the answer went (its channel and thread), drawn
        like any answer."""
        where = json.loads(address)
        await self.client.chat_postMessage(
            channel=where["channel"],
            thread_ts=where.get("thread_ts"),
            text=reply_text(reply),
            blocks=reply_blocks(reply),
            unfurl_links=False,
            unfurl_media=False,
        )

    async def post_announcement(self, announcement: object, channel: str) -> None:
        """Post a policy-change summary to ``channel``: one line per section, its document
        and section names escaped, linked where the policies are published."""
        assert isinstance(announcement, Announcement)
        text = announcement_text(announcement)
        await self.client.chat_postMessage(
            channel=channel,
            text=text,
            blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}],
            unfurl_links=False,
            unfurl_media=False,
        )


def announcement_text(announcement: Announcement) -> str:
    """``*Policy update: 2 sections changed*`` then ``• Changed: Document › Section`` lines."""
    lines = [f"*{escape(announcement.heading)}*"]
    for item in announcement.sections:
        line = f"• {item.change.capitalize()}: {escape(item.document)}"
        if item.section and item.section != item.document:
            line += f" › {escape(item.section)}"
        details = []
        if item.new_version:
            details.append(f"version {escape(item.new_version)}")
        if item.effective:
            details.append(f"effective {escape(item.effective)}")
        if details:
            line += f" ({', '.join(details)})"
        if item.link and is_link(item.link) and not set("<>| ") & set(item.link):
            line += f" <{item.link}|read>"
        lines.append(line)
    if announcement.unlisted:
        lines.append(f"…and {announcement.unlisted} more (ask me “what changed?”)")
    return "\n".join(lines)
