"""Where the support team's Teams channel is, for proactive ticket posts.

The channel is named by ``POLICYBOT_TEAMS_SUPPORT_CONVERSATION`` (its conversation id), or
set in chat by an admin with ``admin support-channel`` in that channel. Teams gives the
exact ``serviceUrl`` and tenant only on an incoming activity, so the first activity seen
from the configured channel (the bot being added to it, a mention, a Claim) refines the
reference, but only from an activity Microsoft authenticated (or, in Emulator mode, one
whose ``serviceUrl`` is loopback): otherwise anyone could re-point every ticket card to a
server of their own. Anything set or learnt at run time is kept in the shared database, so
every replica and a restart see it; only a channel the admin named is ever used, never
whichever team added the bot. The environment variable wins: a channel learnt or set in
chat is used while it is the configured one (it carries the exact serviceUrl), or when
none is configured.
"""

from __future__ import annotations

import logging

from botbuilder.schema import Activity, ConversationAccount, ConversationReference

from adapters.teams.access import is_loopback_url
from adapters.teams.connector import deserialize_reference, serialize_reference
from adapters.teams.settings import TeamsSettings
from bot.store.values import SharedValues

log = logging.getLogger(__name__)
VALUE_NAME = "teams.support_conversation"


def channel_id(conversation_id: str) -> str:
    """A channel's id without the thread suffix Teams adds (``;messageid=...``)."""
    return conversation_id.split(";", 1)[0]


class SupportChannel:
    """The support conversation's reference: configured, learnt, or set by an admin."""

    def __init__(self, settings: TeamsSettings, values: SharedValues | None) -> None:
        """``values`` None: only the configured channel (a database not migrated yet)."""
        self.settings = settings
        self.values = values

    def _stored(self) -> str | None:
        return self.values.get(VALUE_NAME) if self.values is not None else None

    def reference(self) -> ConversationReference | None:
        """A reference that posts a new thread in the support channel, or None if unset."""
        configured = self.settings.support_conversation
        text = self._stored()
        if text is not None:
            stored = deserialize_reference(text)
            if not configured or channel_id(stored.conversation.id) == channel_id(configured):
                return stored
        if configured:
            return ConversationReference(
                channel_id="msteams",
                service_url=self.settings.service_url,
                conversation=ConversationAccount(
                    id=configured,
                    is_group=True,
                    conversation_type="channel",
                    tenant_id=self.settings.app_tenant_id,
                ),
            )
        return None

    def is_support(self, activity: Activity) -> bool:
        current = self.reference()
        return bool(
            current
            and activity.conversation
            and channel_id(activity.conversation.id) == channel_id(current.conversation.id)
        )

    def trusts(self, activity: Activity) -> bool:
        """May this activity's ``serviceUrl`` be used for later posts? Authenticated ones
        (botbuilder checked the token's ``serviceurl`` claim), or loopback in Emulator mode."""
        return self.settings.auth_enabled or is_loopback_url(activity.service_url)

    def learn(self, activity: Activity) -> None:
        """Keep the exact serviceUrl and tenant when a trusted activity comes from the channel."""
        if not self.is_support(activity) or not self.trusts(activity):
            return
        current = self.reference()
        assert current is not None
        if current.service_url != activity.service_url or self._stored() is None:
            self.set_from(activity)

    def set_from(self, activity: Activity) -> ConversationReference:
        """Make the activity's channel the support channel (new threads, not replies).

        Raises:
            PermissionError: the activity's ``serviceUrl`` is not one to trust.
        """
        if not self.trusts(activity):
            raise PermissionError("an unauthenticated activity cannot name the support channel")
        conversation = activity.conversation
        reference = ConversationReference(
            channel_id=activity.channel_id,
            service_url=activity.service_url,
            bot=activity.recipient,
            conversation=ConversationAccount(
                id=channel_id(conversation.id),
                is_group=True,
                conversation_type=conversation.conversation_type,
                tenant_id=conversation.tenant_id,
            ),
        )
        if self.values is None:
            raise PermissionError("the support channel cannot be stored: no database")
        self.values.put(VALUE_NAME, serialize_reference(reference))
        log.info("teams: support channel is now %s", reference.conversation.id)
        return reference
