"""``policybot users``: local accounts of the web console (support staff, admins).

The password is read without echo from the terminal, or as one line from stdin when
stdin is not a terminal (``--password-stdin`` scripts), never from the command line.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from adapters.web.accounts import AccountStore, Role
from bot.settings import Settings
from bot.store import open_store


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("users", help="console accounts: add, passwd, list")
    commands = parser.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = commands.add_parser("add", help="create an account")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=[role.value for role in Role])
    add.set_defaults(handler=handle_add)
    passwd = commands.add_parser("passwd", help="set a new password (signs the user out)")
    passwd.add_argument("name")
    passwd.set_defaults(handler=handle_passwd)
    listing = commands.add_parser("list", help="list accounts")
    listing.add_argument("--json", action="store_true", help="one JSON object per account")
    listing.set_defaults(handler=handle_list)


def account_store(settings: Settings) -> AccountStore:
    return AccountStore(open_store(settings).engine)


def read_password(name: str) -> str:
    if sys.stdin.isatty():
        first = getpass.getpass(f"password for {name}: ")
        if getpass.getpass("again: ") != first:
            print("policybot: the passwords differ; nothing changed", file=sys.stderr)
            raise SystemExit(2)
        return first
    return sys.stdin.readline().rstrip("\r\n")


def handle_add(args: argparse.Namespace, settings: Settings) -> int:
    store = account_store(settings)
    user = store.add_user(args.name, Role(args.role), read_password(args.name))
    print(f"created {user.name} ({user.role.value})", file=sys.stderr)
    return 0


def handle_passwd(args: argparse.Namespace, settings: Settings) -> int:
    store = account_store(settings)
    store.set_password(args.name, read_password(args.name))
    print(f"password of {args.name} changed; their sessions were ended", file=sys.stderr)
    return 0


def handle_list(args: argparse.Namespace, settings: Settings) -> int:
    for user in account_store(settings).users():
        if args.json:
            print(json.dumps({"name": user.name, "role": user.role.value}))
        else:
            print(f"{user.name}\t{user.role.value}")
    return 0
