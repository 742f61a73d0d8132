"""The platform-neutral entrance: ``Assistant.handle(Message) -> Reply``.

Adapters call this and render the reply; nothing here knows about Slack or Teams.
CPU-bound answering runs in a worker thread so the event loop keeps acknowledging.
"""

from __future__ import annotations

import asyncio

from bot.models import Action, Answer, Message, Reply, Status
from bot.runtime import Engine


class Assistant:
    """Routes a message (question, for now) to the engine and builds the reply model."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def ask(self, text: str) -> Answer:
        return await asyncio.to_thread(self.engine.answerer.answer, text)

    async def handle(self, message: Message) -> Reply:
        answer = await self.ask(message.text)
        return reply_for(answer)


def reply_for(answer: Answer) -> Reply:
    if answer.status is Status.NOT_FOUND:
        return Reply(text=answer.text, status=answer.status, actions=(Action.ASK_PERSON,))
    return Reply(
        text=answer.text,
        citations=answer.citations,
        ai_generated=True,
        status=answer.status,
        actions=(Action.FEEDBACK, Action.REPORT_INCIDENT, Action.ASK_PERSON),
    )
