"""Answer each Slack event once, however often Slack delivers it.

Slack retries an event it got no 2xx for within 3 seconds, up to three times, with
``X-Slack-Retry-Num`` set (Bolt >= 1.29 copies Socket Mode's ``retry_attempt`` into the same
header), and may deliver the same event twice without that header. Bolt has no dedupe of its
own. Every event carries an ``event_id`` that is unique across workspaces, so the first
delivery claims it and every repeat is acknowledged with 200 and dropped.

The claim is a function ``(platform, event_id) -> bool`` so that the database-backed claim
of the hand-off store (a unique key, shared by every server process) and the in-memory one
below are interchangeable.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

PLATFORM = "slack"
RETRY_HEADER = "x-slack-retry-num"

ClaimDelivery = Callable[[str, str], bool | Awaitable[bool]]

log = logging.getLogger(__name__)


class InMemoryClaims:
    """Claims held in this process: right for one process and for tests, wrong behind a
    load balancer (use the store's ``claim_delivery`` there).

    Keeps ids for ``ttl_seconds`` (Slack's last retry comes about five minutes after the
    first delivery) and at most ``max_entries`` of them, oldest dropped first.
    """

    def __init__(self, *, ttl_seconds: float = 3600.0, max_entries: int = 100_000) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._seen: OrderedDict[tuple[str, str], float] = OrderedDict()

    def __call__(self, platform: str, event_id: str) -> bool:
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

    def __init__(self, claim_delivery: ClaimDelivery) -> None:
        self.claim_delivery = claim_delivery

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse | None:
        event_id = _event_id(req.body)
        if event_id is None or await claim(self.claim_delivery, event_id):
            return await next()
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
