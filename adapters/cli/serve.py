"""``policybot serve``: run the server process (health, Slack, Teams, web console)."""

from __future__ import annotations

import argparse

from aiohttp import web

from adapters import teams
from adapters.server import ServerContext, Setup, create_app
from bot.assistant import Assistant
from bot.runtime import build_engine
from bot.settings import Settings


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
    return adapters


def build_context(settings: Settings) -> ServerContext:
    engine = build_engine(settings)
    engine.ensure_ingested()
    return ServerContext(settings=settings, engine=engine, assistant=Assistant(engine))


def handle(args: argparse.Namespace, settings: Settings) -> int:
    context = build_context(settings)
    app = create_app(context, enabled_adapters(settings))
    web.run_app(app, host=args.host, port=args.port, print=None)
    return 0
