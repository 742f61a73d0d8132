"""Rate limits for what anyone may send without signing in: questions and tickets.

The chat, "ask a person", feedback and incident reports are open by default, and each
ticket is also pushed to the support channels on Slack and Teams, so an anonymous client
(by its address, through a trusted proxy the real one) may send only so many per window,
and all anonymous clients together only so many tickets an hour. Signed-in people are not
limited here. The counters live in the database (:mod:`bot.store.admission`).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from aiohttp import web
from aiohttp.typedefs import Handler

from adapters.web.console import PREFIX, console_of, user_of
from bot.store.admission import Admission

log = logging.getLogger(__name__)

QUESTION_PATHS = frozenset({"/ask"})
TICKET_PATHS = frozenset({"/feedback", "/ask-person", "/incident"})
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def _limits(request: web.Request) -> list[tuple[str, int, timedelta]]:
    """The (key, limit, window) counters an anonymous write passes, empty for others."""
    settings = console_of(request).settings
    relative = request.path[len(PREFIX) :]
    client = request.remote or "unknown"
    if relative in QUESTION_PATHS:
        return [(f"questions:{client}", settings.anonymous_questions_per_minute, MINUTE)]
    if relative in TICKET_PATHS:
        return [
            (f"tickets:{client}", settings.anonymous_tickets_per_hour, HOUR),
            ("tickets:anonymous", settings.anonymous_tickets_per_hour_total, HOUR),
        ]
    return []


@web.middleware
async def limit_anonymous_writes(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method != "POST" or user_of(request) is not None:
        return await handler(request)
    limits = _limits(request)
    if not limits:
        return await handler(request)
    admission = Admission(console_of(request).accounts.engine)
    for key, limit, window in limits:
        decision = await asyncio.to_thread(admission.admit, key, limit=limit, window=window)
        if not decision.admitted:
            log.warning("anonymous write refused: rate limit", extra={"path": request.path})
            raise web.HTTPTooManyRequests(
                text=(
                    "Too many requests from here. Try again in "
                    f"{decision.retry_after} seconds, or sign in."
                ),
                headers={"Retry-After": str(decision.retry_after)},
            )
    return await handler(request)
