"""``policybot teams package``: the Teams app package to upload."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from adapters.teams.package import build_package
from adapters.teams.settings import TeamsSettings
from bot.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    teams = subparsers.add_parser("teams", help="Microsoft Teams tasks")
    commands = teams.add_subparsers(dest="teams_command", required=True, metavar="COMMAND")
    package = commands.add_parser("package", help="write the Teams app package (zip) to upload")
    package.add_argument("--app-id", help="the bot's Microsoft App ID; default: MicrosoftAppId")
    package.add_argument("--website-url", required=True, help="https:// page about the bot")
    package.add_argument("--privacy-url", help="https:// privacy statement; default: website")
    package.add_argument("--terms-url", help="https:// terms of use; default: website")
    package.add_argument("--organisation", default="PolicyBot", help="developer name shown")
    package.add_argument("--version", default="1.0.0", help="app version, raise it per upload")
    package.add_argument("--output", type=Path, default=Path("policybot-teams.zip"))
    package.set_defaults(handler=handle_package)


def handle_package(args: argparse.Namespace, settings: Settings) -> int:
    app_id = args.app_id or TeamsSettings().app_id
    path = build_package(
        args.output,
        app_id=app_id,
        website_url=args.website_url,
        privacy_url=args.privacy_url,
        terms_url=args.terms_url,
        organisation=args.organisation,
        version=args.version,
    )
    print(json.dumps({"package": str(path), "app_id": app_id}))
    return 0
