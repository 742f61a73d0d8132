"""The terminal as a chat platform: ``policybot chat`` goes through ``Assistant.handle``.

So the terminal reaches every route the other adapters do (questions, incident reports,
feedback, "ask a person"), as platform ``cli`` with your login name as the user. Updates on
your tickets (claimed, resolved) are shown between turns: the terminal's notifier delivers
to its own user only and leaves support-channel posts to the server.
"""

from __future__ import annotations

import asyncio
import getpass
import sys
import textwrap
import uuid
from collections.abc import Callable

from bot.assembly import build_assistant
from bot.handoff.ports import Notifier, Reporter
from bot.models import Action, Message, Reply

PLATFORM = "cli"
CONVERSATION = "terminal"
ACTION_HINTS = {
    Action.FEEDBACK: '"helpful" or "not helpful: why"',
    Action.REPORT_INCIDENT: '"report incident"',
    Action.ASK_PERSON: '"ask a person"',
}

Write = Callable[[str], None]


class TerminalNotifier(Notifier):
    platform = PLATFORM

    def __init__(self, write: Write) -> None:
        self.write = write

    async def notify_reporter(self, reporter: Reporter, text: str) -> None:
        self.write(f"(update) {text}")

    async def post_ticket(self, ticket: object, *, event: str) -> None:
        """Never called: the terminal is not registered as a support channel."""


def format_reply(reply: Reply) -> str:
    paragraphs = [textwrap.fill(p, width=88) for p in reply.text.split("\n\n")]
    lines = ["\n\n".join(paragraphs)]
    if reply.citations:
        lines.append("")
        for c in reply.citations:
            version = f", version {c.version}" if c.version else ""
            lines.append(f"[{c.n}] {c.document} › {c.section}{version} ({c.source})")
    hints = [ACTION_HINTS[a] for a in reply.actions if a in ACTION_HINTS]
    if hints:
        lines.append(f"(say {', '.join(hints)})")
    return "\n".join(lines)


def run(engine: object, *, read: Callable[[str], str] = input, write: Write = print) -> int:
    """Chat until an empty line or end of input; returns the exit code."""
    return asyncio.run(_session(engine, read, write))


async def _session(engine: object, read: Callable[[str], str], write: Write) -> int:
    assistant = build_assistant(engine)
    assistant.notifiers.register(TerminalNotifier(write))
    user = getpass.getuser()
    print(
        "Ask about the GenAI policy, or report an AI incident. "
        "An empty line or Ctrl-D ends the session.",
        file=sys.stderr,
    )
    try:
        while True:
            try:
                text = await asyncio.to_thread(read, "you> ")
            except EOFError:
                break
            if not text.strip():
                break
            message = Message(
                text=text,
                user_id=user,
                platform=PLATFORM,
                conversation_id=CONVERSATION,
                message_id=uuid.uuid4().hex,
            )
            reply = await assistant.handle(message)
            write(format_reply(reply))
            write("")
            await assistant.flush_notifications()
            await assistant.deliveries.deliver_pending()
    finally:
        await assistant.flush_notifications()
        assistant.store.close()
    return 0
