"""Where the support team's Teams channel is, for proactive ticket posts.

The channel is named by ``POLICYBOT_TEAMS_SUPPORT_CONVERSATION`` (its conversation id), or
set in chat by an admin with ``admin support-channel`` in that channel. Teams gives the
exact ``serviceUrl`` and tenant only on an incoming activity, so the first activity seen
from the configured channel (the bot being added to it, a mention, a Claim) refines the
reference. Anything set or learnt at run time is kept in ``DATA_DIR/teams/`` so a restart
keeps it; only a channel the admin named is ever used, never whichever team added the bot.
The environment variable wins: a channel learnt or set in chat is used while it is the
configured one (it carries the exact serviceUrl), or when none is configured.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from botbuilder.schema import Activity, ConversationAccount, ConversationReference

from adapters.teams.connector import deserialize_reference, serialize_reference
from adapters.teams.settings import TeamsSettings

log = logging.getLogger(__name__)


def channel_id(conversation_id: str) -> str:
    """A channel's id without the thread suffix Teams adds (``;messageid=...``)."""
    return conversation_id.split(";", 1)[0]


class SupportChannel:
    """The support conversation's reference: configured, learnt, or set by an admin."""

    def __init__(self, settings: TeamsSettings, data_dir: Path) -> None:
        self.settings = settings
        self.path = data_dir / "teams" / "support-conversation.json"

    def reference(self) -> ConversationReference | None:
        """A reference that posts a new thread in the support channel, or None if unset."""
        configured = self.settings.support_conversation
        if self.path.exists():
            stored = deserialize_reference(self.path.read_text(encoding="utf-8"))
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

    def learn(self, activity: Activity) -> None:
        """Keep the exact serviceUrl and tenant when an activity comes from the channel."""
        if not self.is_support(activity):
            return
        current = self.reference()
        assert current is not None
        if current.service_url != activity.service_url or not self.path.exists():
            self.set_from(activity)

    def set_from(self, activity: Activity) -> ConversationReference:
        """Make the activity's channel the support channel (new threads, not replies)."""
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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(serialize_reference(reference))
        os.replace(tmp, self.path)
        log.info("teams: support channel is now %s", reference.conversation.id)
        return reference
