"""``policybot serve``: run the server process (health, Slack, Teams, web console)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from functools import partial
from typing import Any

from aiohttp import web

from adapters import slack, teams
from adapters.logs import AccessLogger, configure_server_logging
from adapters.server import ServerContext, Setup, create_app
from adapters.slack.settings import SlackSettings
from adapters.web import setup as web_console
from bot.answering.engine import build_engine
from bot.assembly import build_assistant
from bot.handoff.outbox import OutboxRelay
from bot.privacy.retention import purge_daily
from bot.settings import Settings
from bot.store import Store, open_store
from knowledge.embedding import Embedder

DELIVERY_INTERVAL_SECONDS = 15.0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="run the HTTP server (Slack, Teams, web console)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3978)
    parser.set_defaults(handler=handle)


def enabled_adapters(settings: Settings) -> list[Setup]:
    """The platform adapters this process serves; each checks its own settings."""
    adapters: list[Setup] = []
    # Teams is always on: with no MicrosoftAppId it runs in Emulator mode (auth off, logged).
    adapters.append(teams.setup)
    # Slack is on when its credentials are set (bot token plus signing secret or app token);
    # a half-configured Slack app fails here, at start-up, with the fix.
    slack_settings = SlackSettings()
    if slack_settings.configured:
        adapters.append(partial(slack.setup, settings=slack_settings))
    adapters.append(web_console)
    return adapters


def build_context(settings: Settings, *, embedder: Embedder | None = None) -> ServerContext:
    """Everything the server shares, checked before it listens: the database (reachable, at
    the current schema), the Chroma server (reachable) and the index (built with the
    configured embedding model). Each failure is a :class:`PolicyBotError` naming the fix.
    """
    store = open_store(settings)
    try:
        engine = build_engine(settings, embedder=embedder)
        report = engine.ensure_ingested()  # reads the pointer: checks the model and dimension
    except BaseException:
        store.close()
        raise
    context = ServerContext(
        settings=settings, engine=engine, assistant=build_assistant(engine, store=store)
    )
    if report is not None:
        context.metrics.observe_ingest(failed_files=len(report.failed))
    return context


def background(
    work: Callable[[], Coroutine[Any, Any, None]],
) -> Callable[[web.Application], AsyncIterator[None]]:
    """An aiohttp cleanup context running ``work`` while the app runs, cancelled at exit."""

    async def run(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(work())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return run


def retention_task(
    store: Store, settings: Settings
) -> Callable[[web.Application], AsyncIterator[None]]:
    """The retention purge, daily while the app runs."""
    return background(partial(purge_daily, store, settings))


def delivery_task(relay: OutboxRelay) -> Callable[[web.Application], AsyncIterator[None]]:
    """The outbox loop: notifications a request could not deliver are retried here, by the
    server process whichever adapters it serves."""
    return background(partial(relay.run, interval=DELIVERY_INTERVAL_SECONDS))


def handle(args: argparse.Namespace, settings: Settings) -> int:
    configure_server_logging(settings.log_level)
    context = build_context(settings)
    app = create_app(context, enabled_adapters(settings))
    app.cleanup_ctx.append(retention_task(context.assistant.store, settings))
    app.cleanup_ctx.append(delivery_task(context.assistant.deliveries))
    web.run_app(app, host=args.host, port=args.port, print=None, access_log_class=AccessLogger)
    return 0
