"""The keys the hand-off finds things by, built in one place so every entrance agrees.

An idempotency key makes a retried delivery or a repeated click find the ticket the first
one created; the asker key finds "my last answer here" without storing who asked.
"""

from __future__ import annotations

import hashlib

from bot.limits import MAX_NAME_CHARS
from bot.models import Message


def idempotency_key(*parts: object) -> str:
    """The parts joined with ``:``, cut to the width of the database column.

    Callers name their platform or entrance first (``"slack"``, ``"web-rating"``), then
    whatever identifies the delivery (an event id, a message id, a form's nonce).
    """
    return ":".join(str(part) for part in parts)[:MAX_NAME_CHARS]


def message_key(route: str, message: Message) -> str | None:
    """The idempotency key of a chat message on ``route``, from the platform's message id:
    a retried delivery of the same message finds the ticket the first one created."""
    if not message.message_id:
        return None
    return idempotency_key(route, message.platform, message.conversation_id, message.message_id)


def asker_key(message: Message) -> str:
    """Finds "my last answer in this conversation" without storing who asked."""
    parts = (message.platform, message.conversation_id, message.thread_id or "", message.user_id)
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
