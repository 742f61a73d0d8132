"""``policybot slack manifest``: the Slack app manifest for this server, ready to paste."""

from __future__ import annotations

import argparse

from adapters.slack.manifest import filled_manifest
from bot.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    slack = subparsers.add_parser("slack", help="Slack tasks")
    commands = slack.add_subparsers(dest="slack_command", required=True, metavar="COMMAND")
    manifest = commands.add_parser(
        "manifest", help="print the app manifest with this server's request URLs"
    )
    manifest.add_argument(
        "--url", required=True, help="the server's public HTTPS base URL (https://bot.example.com)"
    )
    manifest.set_defaults(handler=handle_manifest)


def handle_manifest(args: argparse.Namespace, settings: Settings) -> int:
    print(filled_manifest(args.url), end="")
    return 0
