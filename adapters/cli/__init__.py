"""``policybot``: one console script, a subcommand per task.

Each subcommand module exposes ``register(subparsers)``; its handler takes the parsed
arguments and the settings and returns the exit code, so tests can call it directly.
Machine-readable output goes to stdout, everything else to stderr.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from adapters.cli import (
    ask,
    changes,
    coverage,
    db,
    doctor,
    gaps,
    ingest,
    privacy,
    serve,
    slack,
    teams,
    tickets,
    users,
)
from adapters.logs import NOISY_LOGGERS, StderrHandler
from bot.errors import ConfigurationError, PolicyBotError
from bot.settings import Settings

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE = 0, 1, 2
COMMAND_MODULES = [
    ingest,
    ask,
    serve,
    users,
    coverage,
    tickets,
    gaps,
    changes,
    db,
    teams,
    privacy,
    doctor,
    slack,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="policybot",
        description="Answers questions about your GenAI policy and the PCPD's guidance.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        handlers=[StderrHandler()],
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"policybot: invalid setting: {exc}", file=sys.stderr)
        return EXIT_USAGE
    configure_logging(settings.log_level)
    try:
        return int(args.handler(args, settings))
    except ConfigurationError as exc:
        print(f"policybot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except PolicyBotError as exc:
        print(f"policybot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def run() -> None:
    sys.exit(main())
