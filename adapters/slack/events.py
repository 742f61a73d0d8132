"""Slack payloads -> the core's :class:`~bot.models.Message`: pure functions, no I/O.

Which events are questions: a person's plain message in a DM with the app (``message`` with
``channel_type: im`` and no ``subtype``, ``bot_id`` or ``hidden``), an ``app_mention`` in a
channel, a message in the app's assistant panel, and ``/genai-policy QUESTION``. Edits,
deletions, joins and bot posts are acknowledged and ignored.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from bot.models import Message

PLATFORM = "slack"
# Subtypes that still carry a person's new message (files with a caption, "also send to
# channel" replies); every other subtype (edits, deletions, joins, bots) is not a question.
QUESTION_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})


def question_text(text: str, bot_user_id: str | None = None) -> str:
    """The message text without mentions of the app, whitespace collapsed.

    Mentions of other people are kept as they are (the privacy guard decides what to do
    with identifiers); only the app's own ``<@U…>`` is noise.
    """
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", " ", text)
    return " ".join(text.split())


def is_person_message(event: dict[str, Any]) -> bool:
    """A new message written by a person (not an edit, a deletion or a bot's post)."""
    return (
        event.get("subtype") in QUESTION_SUBTYPES
        and not event.get("bot_id")
        and not event.get("hidden")
        and bool(event.get("user"))
    )


def is_direct_question(event: dict[str, Any]) -> bool:
    """A person's message in a DM with the app, outside the assistant panel's threads."""
    return event.get("channel_type") == "im" and is_person_message(event)


def reply_thread(event: dict[str, Any]) -> str:
    """The thread an answer goes to: the message's own thread, else a new one under it."""
    return event.get("thread_ts") or event["ts"]


def dm_channel(channel: str | None) -> str | None:
    """A DM channel id (D...), kept so the core can reach the person there later."""
    return channel if channel and channel.startswith("D") else None


def note_address(channel: str | None, thread_ts: str | None = None) -> str | None:
    """Where a later note about an answer goes (``Message.reply_to``): the channel and the
    thread the answer was posted in. No user id: the note goes where the answer went."""
    if not channel:
        return None
    address = {"channel": channel}
    if thread_ts:
        address["thread_ts"] = thread_ts
    return json.dumps(address, sort_keys=True)


def message_from_event(event: dict[str, Any], *, bot_user_id: str | None = None) -> Message:
    """A ``message`` or ``app_mention`` event as the core's message."""
    return Message(
        text=question_text(event.get("text") or "", bot_user_id),
        user_id=event["user"],
        platform=PLATFORM,
        conversation_id=event["channel"],
        message_id=event["ts"],
        thread_id=reply_thread(event),
        conversation_ref=dm_channel(event["channel"]),
        reply_to=note_address(event["channel"], reply_thread(event)),
    )


@dataclass(frozen=True)
class Command:
    """``/genai-policy SUBCOMMAND ARGUMENT``; ``name`` is ``ask`` for a plain question."""

    name: str
    argument: str


SUBCOMMANDS = frozenset({"report", "feedback", "help", "reingest"})


def parse_command(text: str | None) -> Command:
    """``help`` for nothing, a named subcommand, else ``ask`` with the whole text."""
    text = " ".join((text or "").split())
    if not text:
        return Command("help", "")
    first, _, rest = text.partition(" ")
    if first.lower() in SUBCOMMANDS:
        return Command(first.lower(), rest)
    return Command("ask", text)


def message_from_command(command: dict[str, Any], text: str) -> Message:
    """A slash command's question as the core's message (no thread: answers are ephemeral)."""
    return Message(
        text=text,
        user_id=command["user_id"],
        platform=PLATFORM,
        conversation_id=command["channel_id"],
        message_id=command.get("trigger_id"),
        conversation_ref=dm_channel(command["channel_id"]),
        # The answer was ephemeral: a note may go to the app's DM, never to a shared channel.
        reply_to=note_address(dm_channel(command["channel_id"])),
    )
