"""Answers to Teams questions, sent after the HTTP request has been acknowledged.

Teams resends an activity that got no HTTP response within 15 seconds. Answering inside
the request tied that response to the answer: a burst of questions held every response
for as long as the slowest answer took. Now a question is acknowledged as soon as it is
authenticated and claimed (``DedupeMiddleware``), and the answer goes out afterwards
through the connector, in a turn of its own (``continue_conversation``, as ticket cards
are posted), threaded under the question as before.

The delivery claim is marked answered only once the reply has been sent: if the process
dies in between, the claim's lease runs out and a resend of the activity is answered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from botbuilder.core import TurnContext

from adapters.background import BackgroundWork
from adapters.teams import payloads
from adapters.teams.connector import TeamsCloudAdapter, send
from adapters.teams.dedupe import FINISH_KEY

log = logging.getLogger(__name__)

Finish = Callable[[], Awaitable[None]]
Reply = Callable[[TurnContext], Awaitable[None]]
MAX_TURNS = 16
SORRY = "Sorry, something went wrong on my side. Please try again in a minute."


class LaterReplies:
    """Replies started after the acknowledgement: tracked, logged, drained at shutdown."""

    def __init__(
        self, adapter: TeamsCloudAdapter, app_id: str | None, *, turns: int = MAX_TURNS
    ) -> None:
        self.adapter = adapter
        self.app_id = app_id
        self.work = BackgroundWork("teams")
        # Reply turns open at once (each sends a typing indicator and the answer through the
        # connector, work on the event loop): a burst of them would hold up the HTTP
        # responses of the activities still arriving. The answers themselves are already
        # being worked out meanwhile (the caller started them).
        self._turns = asyncio.Semaphore(turns)

    def start(self, turn_context: TurnContext, reply: Reply) -> None:
        """Run ``reply`` in a new turn of the same conversation once this one has ended;
        the incoming activity's delivery is marked answered when ``reply`` has finished."""
        activity = turn_context.activity
        reference = TurnContext.get_conversation_reference(activity)
        finish: Finish | None = turn_context.turn_state.pop(FINISH_KEY, None)
        self.work.spawn(self._run(reference, activity.id, reply, finish), name="answer")

    async def _run(
        self, reference: Any, activity_id: str | None, reply: Reply, finish: Finish | None
    ) -> None:
        failed = False

        async def in_turn(context: TurnContext) -> None:
            nonlocal failed
            # The continuation gets a random id; keep the question's, so the answer is a
            # reply to it (in channels: in its thread).
            context.activity.id = activity_id
            try:
                await reply(context)
            except Exception:  # tell the person; leave the claim to its lease
                failed = True
                log.exception("teams: answering failed after the acknowledgement")
                try:
                    await send(context, payloads.text_activity(SORRY))
                except Exception as exc:  # the connector itself may be what failed
                    log.error("teams: could not report the failure: %s", exc)

        try:
            async with self._turns:
                await self.adapter.continue_conversation(reference, in_turn, bot_app_id=self.app_id)
        except Exception:
            log.exception("teams: could not open a turn to answer in")
            return
        if finish is not None and not failed:
            await finish()

    @property
    def pending(self) -> int:
        return self.work.pending

    async def drain(self, timeout: float | None = None) -> None:
        """Wait for the replies in flight (and any they start); cancel the rest after
        ``timeout`` seconds."""
        await self.work.drain(timeout)
