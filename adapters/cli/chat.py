"""The terminal as a chat platform: ``policybot chat`` goes through ``Assistant.handle``.

So the terminal reaches every route the other adapters do (questions, incident reports,
feedback, "ask a person"), as platform ``cli`` with your login name as the user. Updates on
your tickets (claimed, resolved) are shown between turns: the terminal's notifier delivers
to its own user only and leaves support-channel posts to the server.

A conversation in the terminal reads like one: start-up log lines (migrations, the index)
stay out of the way, replies wrap at word boundaries, a report in progress shows where it
stands, an empty line never drops a report silently, and a report left last time is
offered back ("continue or discard?") when the session starts.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import sys
import textwrap
import uuid
from collections.abc import Callable

from bot.assembly import build_assistant
from bot.handoff.ports import Notifier, Reporter
from bot.labels import ENGLISH, labels_for
from bot.models import COMMANDS, Action, Message, Reply

PLATFORM = "cli"
CONVERSATION = "terminal"
ACTION_HINTS = {
    Action.FEEDBACK: '"helpful" or "not helpful: why"',
    Action.REPORT_INCIDENT: '"report incident"',
    Action.ASK_PERSON: '"ask a person"',
}

WIDTH = 88
# Start-up detail that belongs in a server's log, not between a person and their answer.
QUIET_LOGGERS = ("alembic", "bot.store")
LEAVE_REPORT = (
    'Your incident report is not sent yet. Type your answer, "cancel" to drop it, or '
    "press Enter again to leave it for now (I'll offer it back next time)."
)

Write = Callable[[str], None]


class TerminalNotifier(Notifier):
    platform = PLATFORM

    def __init__(self, write: Write) -> None:
        self.write = write

    async def notify_reporter(self, reporter: Reporter, text: str) -> None:
        self.write(f"(update) {text}")

    async def post_ticket(self, ticket: object, *, event: str) -> None:
        """Never called: the terminal is not registered as a support channel."""


def wrap(text: str) -> str:
    """Each line wrapped at word boundaries (list lines and paragraphs kept apart); a word
    longer than the width, such as a link, is left whole rather than cut."""
    return "\n".join(
        textwrap.fill(line, width=WIDTH, break_long_words=False, break_on_hyphens=False)
        if line.strip()
        else ""
        for line in text.split("\n")
    )


def format_reply(reply: Reply) -> str:
    lines = []
    if reply.progress:
        lines.append(f"[{reply.progress}]")
    lines.append(wrap(reply.text))
    for starter in reply.starters:
        lines.append(f"  • {starter}")
    if reply.citations:
        lines.append("")
        for c in reply.citations:
            version = f", version {c.version}" if c.version else ""
            lines.append(wrap(f"[{c.n}] {c.document} › {c.section}{version} ({c.source})"))
    labels = labels_for(reply.language)
    named = {
        Action.FEEDBACK: f"{labels.helpful}／{labels.not_helpful}",
        Action.REPORT_INCIDENT: labels.report_incident,
        Action.ASK_PERSON: labels.ask_person,
    }
    # The words to type stay English (they are the commands); in another language each is
    # followed by what it does.
    hints = [
        ACTION_HINTS[a] + ("" if labels is ENGLISH else f"（{named[a]}）")
        for a in reply.actions
        if a in ACTION_HINTS
    ]
    hints += [
        f'"{COMMANDS[a][1]}"' + ("" if labels is ENGLISH else f"（{labels.step(a)}）")
        for a in reply.actions
        if a in COMMANDS
    ]
    if hints:
        lines.append(f"({labels.say} {', '.join(hints)})")
    return "\n".join(lines)


def quiet_start_up() -> None:
    """Keep migration and index start-up lines off the terminal (warnings still show)."""
    for name in QUIET_LOGGERS:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.WARNING:
            logger.setLevel(logging.WARNING)


def run(engine: object, *, read: Callable[[str], str] = input, write: Write = print) -> int:
    """Chat until an empty line (twice, with a report open) or end of input; returns the
    exit code."""
    return asyncio.run(_session(engine, read, write))


def _message(user: str, text: str) -> Message:
    return Message(
        text=text,
        user_id=user,
        platform=PLATFORM,
        conversation_id=CONVERSATION,
        message_id=uuid.uuid4().hex,
    )


async def _session(engine: object, read: Callable[[str], str], write: Write) -> int:
    assistant = build_assistant(engine)
    assistant.notifiers.register(TerminalNotifier(write))
    user = getpass.getuser()
    print(
        "Ask about the GenAI policy, or report an AI incident. "
        "An empty line or Ctrl-D ends the session.",
        file=sys.stderr,
    )
    leaving = False
    try:
        offer = await assistant.unfinished_report(_message(user, ""))
        if offer is not None:
            write(format_reply(offer))
            write("")
        while True:
            try:
                text = await asyncio.to_thread(read, "you> ")
            except EOFError:
                break
            if not text.strip():
                if leaving or not await assistant.report_in_progress(_message(user, "")):
                    break
                leaving = True
                write(wrap(LEAVE_REPORT))
                write("")
                continue
            leaving = False
            reply = await assistant.handle(_message(user, text))
            write(format_reply(reply))
            write("")
            await assistant.flush_notifications()
            await assistant.deliveries.deliver_pending()
    finally:
        await assistant.flush_notifications()
        assistant.store.close()
    return 0
