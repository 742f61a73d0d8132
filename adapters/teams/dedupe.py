"""Answer each Teams activity once, however often Teams sends it.

Teams resends a request it got no answer to within 15 seconds, and retries on errors,
with the same activity id. The first delivery claims the id; a repeat is acknowledged
(invokes get their 200) and dropped. Activity ids are only unique within a conversation
(channel message ids are timestamps), so the key is conversation id + activity id.
"""

from __future__ import annotations

import asyncio
import hashlib
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from datetime import timedelta
from http import HTTPStatus

from botbuilder.core import InvokeResponse, Middleware, TurnContext
from botbuilder.schema import Activity, ActivityTypes

PLATFORM = "teams"
# Where the claim's "mark answered" waits for a reply sent after the acknowledgement.
FINISH_KEY = "policybot.finish_delivery"
DEDUPED_TYPES = (ActivityTypes.message, ActivityTypes.invoke)
# processed_events.event_id is VARCHAR(255); longer keys are stored as their SHA-256.
MAX_EVENT_ID = 255
# Teams resends after 15 seconds without an answer: a claim not answered within 12 seconds
# (its process died) lets that resend through. Answers normally take well under a second.
TEAMS_LEASE = timedelta(seconds=12)


class DeliveryClaims(ABC):
    """Who handles a platform event first; shared by all processes when backed by the store."""

    @abstractmethod
    async def claim(self, platform: str, event_id: str) -> bool:
        """Return True for the first claim of ``(platform, event_id)``, False for every repeat."""

    @abstractmethod
    async def finish(self, platform: str, event_id: str) -> None:
        """The claimed event was answered (a claim left unfinished can be taken by a retry)."""


class StoreDeliveryClaims(DeliveryClaims):
    """Claims in the database (``DeliveryLedger.claim``: a primary key), shared by every
    process behind a load balancer; the blocking call runs in a worker thread."""

    def __init__(
        self,
        claim_delivery: Callable[[str, str], bool],
        finish_delivery: Callable[[str, str], None] | None = None,
        *,
        executor: Executor | None = None,
    ) -> None:
        self._claim_delivery = claim_delivery
        self._finish_delivery = finish_delivery
        # Threads of the acknowledgement path's own (None: the loop's default executor,
        # where connector sends and store calls of answers in flight queue too).
        self._executor = executor

    async def claim(self, platform: str, event_id: str) -> bool:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, self._claim_delivery, platform, _stored_id(event_id)
        )

    async def finish(self, platform: str, event_id: str) -> None:
        if self._finish_delivery is not None:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(
                self._executor, self._finish_delivery, platform, _stored_id(event_id)
            )


def _stored_id(event_id: str) -> str:
    if len(event_id) > MAX_EVENT_ID:
        return hashlib.sha256(event_id.encode()).hexdigest()
    return event_id


def event_id(activity: Activity) -> str | None:
    if not activity.id or activity.type not in DEDUPED_TYPES:
        return None
    conversation = activity.conversation.id if activity.conversation else ""
    return f"{conversation}|{activity.id}"


class DedupeMiddleware(Middleware):
    """Runs after authentication, so an unauthenticated request can never claim an id."""

    def __init__(self, claims: DeliveryClaims) -> None:
        self.claims = claims

    async def on_turn(self, context: TurnContext, logic: Callable[[], Awaitable[None]]) -> None:
        key = event_id(context.activity)
        if key is None:
            await logic()
            return
        if await self.claims.claim(PLATFORM, key):

            async def finish() -> None:
                await self.claims.finish(PLATFORM, key)

            # A question answered after the acknowledgement takes this away and marks the
            # delivery answered once its reply is sent (adapters.teams.later).
            context.turn_state[FINISH_KEY] = finish
            await logic()  # if this raises or the process dies, a later retry may answer
            if context.turn_state.pop(FINISH_KEY, None) is not None:
                await finish()
            return
        if context.activity.type == ActivityTypes.invoke:
            await context.send_activity(
                Activity(
                    type=ActivityTypes.invoke_response,
                    value=InvokeResponse(status=int(HTTPStatus.OK)),
                )
            )
