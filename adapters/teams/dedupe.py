"""Answer each Teams activity once, however often Teams sends it.

Teams resends a request it got no answer to within 15 seconds, and retries on errors,
with the same activity id. The first delivery claims the id; a repeat is acknowledged
(invokes get their 200) and dropped. Activity ids are only unique within a conversation
(channel message ids are timestamps), so the key is conversation id + activity id.
"""

from __future__ import annotations

import inspect
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from http import HTTPStatus

from botbuilder.core import InvokeResponse, Middleware, TurnContext
from botbuilder.schema import Activity, ActivityTypes

PLATFORM = "teams"
DEDUPED_TYPES = (ActivityTypes.message, ActivityTypes.invoke)


class DeliveryClaims(ABC):
    """Who handles a platform event first; shared by all processes when backed by the store."""

    @abstractmethod
    async def claim(self, platform: str, event_id: str) -> bool:
        """Return True for the first claim of ``(platform, event_id)``, False for every repeat."""


class InMemoryDeliveryClaims(DeliveryClaims):
    """Claims held in this process: right for one process, wrong behind a load balancer.

    Keeps ids for ``ttl_seconds`` (Teams stops retrying well within a minute) and at most
    ``max_entries`` of them, oldest dropped first.
    """

    def __init__(self, *, ttl_seconds: float = 3600.0, max_entries: int = 100_000) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._seen: OrderedDict[tuple[str, str], float] = OrderedDict()

    async def claim(self, platform: str, event_id: str) -> bool:
        now = time.monotonic()
        while self._seen and (
            len(self._seen) >= self.max_entries
            or next(iter(self._seen.values())) < now - self.ttl_seconds
        ):
            self._seen.popitem(last=False)
        key = (platform, event_id)
        if key in self._seen:
            return False
        self._seen[key] = now
        return True


class FunctionDeliveryClaims(DeliveryClaims):
    """Adapts a ``claim(platform, event_id) -> bool`` function (sync or async) to the port."""

    def __init__(self, claim: Callable[[str, str], bool | Awaitable[bool]]) -> None:
        self._claim = claim

    async def claim(self, platform: str, event_id: str) -> bool:
        result = self._claim(platform, event_id)
        if inspect.isawaitable(result):
            result = await result
        return bool(result)


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
        if key is None or await self.claims.claim(PLATFORM, key):
            await logic()
            return
        if context.activity.type == ActivityTypes.invoke:
            await context.send_activity(
                Activity(
                    type=ActivityTypes.invoke_response,
                    value=InvokeResponse(status=int(HTTPStatus.OK)),
                )
            )
