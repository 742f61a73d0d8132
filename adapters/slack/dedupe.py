"""Answer each Slack event once, however often Slack delivers it.

Slack retries an event it got no 2xx for within 3 seconds, up to three times, with
``X-Slack-Retry-Num`` set (Bolt >= 1.29 copies Socket Mode's ``retry_attempt`` into the same
header), and may deliver the same event twice without that header. Bolt has no dedupe of its
own. Every event carries an ``event_id`` that is unique across workspaces, so the first
delivery claims it and every repeat is acknowledged with 200 and dropped.

The claim is a function ``(platform, event_id) -> bool``: by default the store's delivery
ledger (``bot.store.deliveries``; a primary key, so it holds across server processes);
tests and other deployments may pass their own.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from typing import Any

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from sqlalchemy.exc import SQLAlchemyError

from bot.store import Store
from bot.store.deliveries import DeliveryLedger

PLATFORM = "slack"
RETRY_HEADER = "x-slack-retry-num"

ClaimDelivery = Callable[[str, str], bool | Awaitable[bool]]
FinishDelivery = Callable[[str, str], Awaitable[None]]

log = logging.getLogger(__name__)


def store_claims(store: Store, executor: Executor) -> ClaimDelivery:
    """The store's delivery ledger (a primary key shared by every process), off
    the event loop. If the database cannot be reached the event is processed: a rare
    second answer is better than none.

    The claim runs on ``executor``, threads of its own: on the default executor it would
    queue behind the answers being worked out, and a burst of questions would then hold
    the next acknowledgements past Slack's 3 seconds.
    """
    ledger = DeliveryLedger(store)

    async def claim_in_store(platform: str, event_id: str) -> bool:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(executor, ledger.claim, platform, event_id)
        except SQLAlchemyError as exc:
            log.warning("slack: delivery dedupe unavailable: %s", type(exc).__name__)
            return True

    return claim_in_store


def store_finish(store: Store, executor: Executor) -> FinishDelivery:
    """The store's delivery ledger marking an event answered, on the claims' own threads."""
    ledger = DeliveryLedger(store)

    async def finish_in_store(platform: str, event_id: str) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(executor, ledger.finish, platform, event_id)
        except SQLAlchemyError as exc:  # the lease then lets a retry through: a rare repeat
            log.warning("slack: could not mark a delivery answered: %s", type(exc).__name__)

    return finish_in_store


async def claim(claim_delivery: ClaimDelivery, event_id: str) -> bool:
    """Call a sync or async claim function; True for the first delivery of ``event_id``."""
    result = claim_delivery(PLATFORM, event_id)
    if inspect.isawaitable(result):
        result = await result
    return bool(result)


def retry_num(req: AsyncBoltRequest) -> int:
    values = req.headers.get(RETRY_HEADER) or []
    try:
        return int(values[0]) if values else 0
    except ValueError:
        return 0


class DedupeMiddleware(AsyncMiddleware):
    """A global Bolt middleware: runs after request verification, so a forged request can
    never claim an id; requests that are not Events API callbacks pass through untouched.
    """

    def __init__(
        self, claim_delivery: ClaimDelivery, finish_delivery: FinishDelivery | None = None
    ) -> None:
        self.claim_delivery = claim_delivery
        self.finish_delivery = finish_delivery

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse | None:
        event_id = _event_id(req.body)
        if event_id is None:
            return await next()
        if await claim(self.claim_delivery, event_id):
            # Slack retries only what was not acknowledged: once the listener has acked,
            # the event is done for Slack. A process dying before that leaves the claim to
            # expire (the delivery ledger's lease), and Slack's next retry is answered.
            response = await next()
            if self.finish_delivery is not None and response is not None and response.status < 300:
                await self.finish_delivery(PLATFORM, event_id)
            return response
        log.info(
            "slack: dropped repeated delivery",
            extra={"event_id": event_id, "retry_num": retry_num(req)},
        )
        return BoltResponse(status=200, body="")


def _event_id(body: dict[str, Any]) -> str | None:
    if body.get("type") != "event_callback":
        return None
    event_id = body.get("event_id")
    return event_id if isinstance(event_id, str) and event_id else None
