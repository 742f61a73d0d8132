"""``policybot ingest`` (and ``python ingest.py``): bring the index in line with the sources."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bot.answering.engine import build_engine
from bot.settings import Settings


def add_index_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--index",
        type=Path,
        metavar="DIR",
        help="index folder (default: POLICYBOT_DATA_DIR/index)",
    )


def settings_for(args: argparse.Namespace, settings: Settings) -> Settings:
    """Command-line options override the environment for this run only."""
    updates = {}
    if getattr(args, "index", None) is not None:
        updates["index_dir"] = args.index
    if getattr(args, "source", None):
        updates["sources"] = args.source
    return settings.model_copy(update=updates) if updates else settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("ingest", help="ingest policy documents into the index")
    configure(parser)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source",
        type=Path,
        action="append",
        metavar="DIR",
        help="folder of policy files (repeatable; default: the bundled sources)",
    )
    add_index_option(parser)
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    parser.set_defaults(handler=handle)


class _ProgressBar:
    """A tqdm bar per stage on stderr; silent when stderr is not a terminal."""

    def __init__(self) -> None:
        from tqdm import tqdm

        self._tqdm = tqdm
        self._bars: dict[str, object] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        bar = self._bars.get(stage)
        if bar is None:
            bar = self._tqdm(
                total=total, desc=stage, file=sys.stderr, disable=not sys.stderr.isatty()
            )
            self._bars[stage] = bar
        bar.n = done  # type: ignore[attr-defined]
        bar.refresh()  # type: ignore[attr-defined]

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()  # type: ignore[attr-defined]


def handle(args: argparse.Namespace, settings: Settings) -> int:
    settings = settings_for(args, settings)
    engine = build_engine(settings)
    progress = None if args.json else _ProgressBar()
    try:
        report = engine.ingest(progress=progress, trigger="cli")
    finally:
        if progress is not None:
            progress.close()
    if args.json:
        print(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        data = report.as_json()
        chunks = data["chunks"]
        print(
            f"{data['documents']} documents; chunks added {chunks['added']}, updated "
            f"{chunks['updated']}, removed {chunks['removed']}, unchanged {chunks['unchanged']}; "
            f"{data['seconds']}s",
            file=sys.stderr,
        )
        for failure in report.failed:
            print(f"FAILED {failure.path}: {failure.error}", file=sys.stderr)
        for change in report.changes:
            print(
                f"{change.change} {change.document} › {change.section or change.document}",
                file=sys.stderr,
            )
    return report.exit_code
