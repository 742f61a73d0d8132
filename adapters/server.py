"""The project's one server process (aiohttp): health, and the platform endpoints.

Each platform adapter exposes ``setup(app, context)`` and adds its own routes
(``POST /slack/events``, ``POST /api/messages``, the web console); this module only
builds the shared :class:`ServerContext` and the application.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from adapters.metrics import PROMETHEUS_TEXT, Metrics
from bot.answering.engine import Engine
from bot.assistant import Assistant
from bot.settings import Settings

log = logging.getLogger(__name__)

CONTEXT_KEY: web.AppKey[ServerContext] = web.AppKey("policybot_context")


@dataclass
class ServerContext:
    """What every adapter in the process shares."""

    settings: Settings
    engine: Engine
    assistant: Assistant
    extras: dict[str, Any] = field(default_factory=dict)
    metrics: Metrics = field(default_factory=Metrics)


Setup = Callable[[web.Application, ServerContext], None]


async def healthz(request: web.Request) -> web.Response:
    context = request.app[CONTEXT_KEY]
    checks: dict[str, Any] = {}
    healthy = True
    try:
        empty = await asyncio.to_thread(lambda: context.engine.index.is_empty)
        checks["index"] = "empty" if empty else "ok"
        healthy &= not empty
    except Exception as exc:  # report any backend failure as unhealthy, never crash
        checks["index"] = f"error: {exc.__class__.__name__}"
        healthy = False
    for name, probe in context.extras.get("health_checks", {}).items():
        try:
            await probe()
            checks[name] = "ok"
        except Exception as exc:  # a failing probe marks the process unhealthy
            checks[name] = f"error: {exc.__class__.__name__}"
            healthy = False
    return web.json_response(
        {"status": "ok" if healthy else "unhealthy", "checks": checks},
        status=200 if healthy else 503,
    )


async def metrics(request: web.Request) -> web.Response:
    body = await request.app[CONTEXT_KEY].metrics.render()
    return web.Response(body=body.encode(), headers={"Content-Type": PROMETHEUS_TEXT})


def create_app(context: ServerContext, adapters: list[Setup] | None = None) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)
    app[CONTEXT_KEY] = context
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    # Every adapter's questions are counted here; adapters may add observers in setup.
    context.assistant.observers.insert(0, context.metrics.observe_question)
    for setup in adapters or []:
        setup(app, context)
    return app
