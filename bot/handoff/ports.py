"""Ports the adapters implement: how the core reaches people outside the current request.

The core decides *what* to say and to whom; each adapter (Slack, Teams, web, terminal)
implements :class:`Notifier` to deliver it on its platform.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from bot.models import Message, Reply


@dataclass(frozen=True)
class Reporter:
    """Who sent something and where to answer them: enough for a platform to reach them again.

    ``conversation_ref`` is adapter-owned opaque text (e.g. a serialized Teams conversation
    reference or a Slack DM channel id); the core stores it and hands it back unchanged.
    """

    platform: str
    user_id: str
    conversation_ref: str | None = None
    display_name: str | None = None

    @classmethod
    def of(cls, message: Message) -> Reporter:
        """The sender of a chat message, reachable again where they wrote."""
        return cls(
            platform=message.platform,
            user_id=message.user_id,
            conversation_ref=message.conversation_ref,
            display_name=message.display_name,
        )


class Notifier(ABC):
    """Delivery of messages the core originates (ticket updates, support-channel posts)."""

    platform: str

    @abstractmethod
    async def notify_reporter(self, reporter: Reporter, text: str) -> None:
        """Tell the person who reported or asked something (e.g. "INC-2026-0042 was claimed")."""

    @abstractmethod
    async def post_ticket(self, ticket: object, *, event: str) -> None:
        """Post or update a ticket card in the support channel; ``event`` names what changed."""

    async def post_announcement(self, announcement: object, channel: str) -> None:
        """Post a policy-change announcement (:class:`bot.handoff.announcements.Announcement`)
        to ``channel``; a platform that cannot refuses, and the relay retries later."""
        raise NotImplementedError(f"{self.platform} does not post announcements")

    async def send_note(self, address: str, reply: Reply) -> None:
        """Send ``reply`` (a note that an earlier answer went stale, with the updated answer)
        to ``address``, the answer's ``reply_to`` as this adapter wrote it; a platform that
        cannot refuses, and the relay keeps the note with the error."""
        raise NotImplementedError(f"{self.platform} does not send notes to askers")
