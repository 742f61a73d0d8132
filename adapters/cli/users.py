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
from adapters.web.staff import CLI_ACTOR, StaffDirectory
from bot.settings import Settings
from bot.store import open_store


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "users", help="console accounts: add, passwd, list, disable, enable, role"
    )
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
    for action, text in (
        ("disable", "disable an account (ends its sessions)"),
        ("enable", "enable a disabled account"),
    ):
        command = commands.add_parser(action, help=text)
        command.add_argument("name")
        command.set_defaults(handler=handle_switch, enable=action == "enable")
    role = commands.add_parser("role", help="change an account's role")
    role.add_argument("name")
    role.add_argument("role", choices=[role.value for role in Role])
    role.set_defaults(handler=handle_role)


def account_store(settings: Settings) -> AccountStore:
    return AccountStore(open_store(settings).engine)


def directory(settings: Settings) -> StaffDirectory:
    """The same checks and audit trail as the console's staff page, acting as ``cli``."""
    return StaffDirectory(account_store(settings))


def read_password(name: str) -> str:
    if sys.stdin.isatty():
        first = getpass.getpass(f"password for {name}: ")
        if getpass.getpass("again: ") != first:
            print("policybot: the passwords differ; nothing changed", file=sys.stderr)
            raise SystemExit(2)
        return first
    return sys.stdin.readline().rstrip("\r\n")


def handle_add(args: argparse.Namespace, settings: Settings) -> int:
    user = directory(settings).add(CLI_ACTOR, args.name, Role(args.role), read_password(args.name))
    print(f"created {user.name} ({user.role.value})", file=sys.stderr)
    return 0


def handle_passwd(args: argparse.Namespace, settings: Settings) -> int:
    directory(settings).reset_password(CLI_ACTOR, args.name, read_password(args.name))
    print(f"password of {args.name} changed; their sessions were ended", file=sys.stderr)
    return 0


def handle_list(args: argparse.Namespace, settings: Settings) -> int:
    for account in directory(settings).staff():
        if args.json:
            print(
                json.dumps(
                    {
                        "name": account.name,
                        "role": account.role.value,
                        "disabled": not account.enabled,
                        "single_sign_on": account.single_sign_on,
                    }
                )
            )
        else:
            state = "" if account.enabled else "\tdisabled"
            print(f"{account.name}\t{account.role.value}{state}")
    return 0


def handle_switch(args: argparse.Namespace, settings: Settings) -> int:
    staff = directory(settings)
    if args.enable:
        staff.enable(CLI_ACTOR, args.name)
    else:
        staff.disable(CLI_ACTOR, args.name)
    print(f"{args.name} {'enabled' if args.enable else 'disabled'}", file=sys.stderr)
    return 0


def handle_role(args: argparse.Namespace, settings: Settings) -> int:
    directory(settings).change_role(CLI_ACTOR, args.name, Role(args.role))
    print(f"{args.name} is now {args.role}", file=sys.stderr)
    return 0
