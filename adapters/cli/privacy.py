"""``policybot privacy``: retention and data-access requests (PDPO DPP2(2) and DPP6).

``purge`` deletes what has outlived its retention period and prints the counts as one JSON
object (the server also runs it daily); ``export --user ID`` prints everything held about one
employee as one JSON object; ``erase --user ID`` deletes it, prints the counts, and leaves
only an audit row (salted hash of the id, time, counts). For a user the store does not know,
``export`` prints an empty export and ``erase`` deletes nothing; both say so on stderr and
exit 0.
"""

from __future__ import annotations

import argparse
import json
import sys

from bot.privacy.retention import purge_with
from bot.privacy.subject_requests import erase, export
from bot.settings import Settings
from bot.store import open_store


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "privacy", help="retention purge, and one employee's data: export, erase"
    )
    commands = parser.add_subparsers(dest="privacy_command", required=True, metavar="ACTION")
    commands.add_parser(
        "purge", help="delete conversation records and closed tickets past their retention"
    ).set_defaults(handler=handle_purge)
    for name, handler, text in (
        ("export", handle_export, "print everything held about one employee as JSON"),
        ("erase", handle_erase, "delete everything held about one employee"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("--user", required=True, metavar="ID", help="the platform user id")
        command.add_argument(
            "--platform", metavar="P", help="e.g. slack, teams, web (default: any)"
        )
        command.set_defaults(handler=handler)


def _who(args: argparse.Namespace) -> str:
    return f"user {args.user!r}" + (f" on {args.platform}" if args.platform else "")


def handle_purge(args: argparse.Namespace, settings: Settings) -> int:
    store = open_store(settings)
    try:
        print(json.dumps(purge_with(store, settings)), flush=True)
    finally:
        store.close()
    return 0


def handle_export(args: argparse.Namespace, settings: Settings) -> int:
    store = open_store(settings)
    try:
        data = export(store, args.user, platform=args.platform)
    finally:
        store.close()
    if not data["found"]:
        print(
            f"policybot: no data is held about {_who(args)}: the export is empty", file=sys.stderr
        )
    print(json.dumps(data, ensure_ascii=False), flush=True)
    return 0


def handle_erase(args: argparse.Namespace, settings: Settings) -> int:
    store = open_store(settings)
    try:
        counts = erase(store, args.user, platform=args.platform)
    finally:
        store.close()
    if any(counts.values()):
        print(f"policybot: erased the data held about {_who(args)}", file=sys.stderr)
    else:
        print(f"policybot: no data is held about {_who(args)}: nothing erased", file=sys.stderr)
    print(json.dumps(counts), flush=True)
    return 0
