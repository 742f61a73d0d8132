"""``policybot ask``, ``policybot chat`` and ``policybot eval``: the answer engine from a shell."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from adapters.cli.ingest import add_index_option, settings_for
from bot.answering.engine import Engine, build_engine
from bot.answering.evaluation import evaluate, load_cases, threshold_sweep
from bot.answering.language_eval import load_twin_cases, twin_metrics
from bot.assembly import policy_answerer
from bot.assistant import Assistant
from bot.errors import ConfigurationError, StoreError
from bot.models import Answer, Status
from bot.settings import Settings
from bot.store import open_store


def register(subparsers: argparse._SubParsersAction) -> None:
    ask = subparsers.add_parser("ask", help="answer one question, or one per line of stdin with -")
    ask.add_argument("question", help="the question, or - to read one question per line")
    add_index_option(ask)
    ask.add_argument("--json", action="store_true", help="one JSON object per answer")
    ask.set_defaults(handler=handle_ask)

    chat = subparsers.add_parser("chat", help="an interactive session in the terminal")
    add_index_option(chat)
    chat.set_defaults(handler=handle_chat)

    ev = subparsers.add_parser("eval", help="measure retrieval and refusal on a question set")
    ev.add_argument("file", type=Path, nargs="?", help="JSONL: {q, gold:[...]} or {q, kind: out}")
    ev.add_argument(
        "--source",
        type=Path,
        metavar="DIR",
        help="evaluate on this policy folder (its corpus/ and questions.jsonl, or FILE) in an "
        "index of its own",
    )
    ev.add_argument(
        "--pool",
        type=Path,
        metavar="DIR",
        help="evaluate on every policy folder in DIR and the bundled corpus: a row per corpus "
        "and their macro average",
    )
    add_index_option(ev)
    ev.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    ev.add_argument("--sweep", action="store_true", help="also show refusal rates per threshold")
    ev.set_defaults(handler=handle_eval)


def ready_engine(args: argparse.Namespace, settings: Settings) -> Engine:
    engine = build_engine(settings_for(args, settings))
    engine.ensure_ingested()
    return engine


def format_answer(answer: Answer) -> str:
    lines = [textwrap.fill(answer.text, width=88)]
    if answer.citations:
        lines.append("")
        for c in answer.citations:
            version = f", version {c.version}" if c.version else ""
            lines.append(f"[{c.n}] {c.document} › {c.section}{version} ({c.source})")
    elif answer.status is Status.NOT_FOUND and answer.suggestions:
        lines.append("Nearest topics: " + "; ".join(answer.suggestions))
    return "\n".join(lines)


def handle_ask(args: argparse.Namespace, settings: Settings) -> int:
    questions: Iterator[str]
    if args.question == "-":
        questions = (line.rstrip("\n") for line in sys.stdin)
    else:
        questions = iter([args.question])
    assistant = Assistant(answerer_with_updates(ready_engine(args, settings)))
    for question in questions:
        if not question.strip():
            continue
        # The engine (and a configured language model) sees only the redacted question;
        # the JSON still echoes the caller's own line, which never leaves their pipe.
        answer = asyncio.run(assistant.ask(question))
        if args.json:
            data = answer.as_json()
            data["question"] = question
            print(json.dumps(data, ensure_ascii=False), flush=True)
        else:
            text = format_answer(answer)
            if answer.privacy:
                notice = assistant.privacy_notice.text(answer.privacy)
                text += "\n\n" + textwrap.fill(notice, width=88)
            print(text, flush=True)
    return 0


def answerer_with_updates(engine: Engine) -> Any:
    """The answerer the chat and the servers use ("what changed?" answered, a recent change
    mentioned), which reads the recorded changes from the database; without a database only
    the index is needed, so the answer comes without them and stderr says why."""
    try:
        store = open_store(engine.settings)
    except StoreError as exc:
        print(f"policybot: answering without policy updates: {exc}", file=sys.stderr)
        return engine.answerer
    return policy_answerer(engine, store)


def handle_chat(args: argparse.Namespace, settings: Settings) -> int:
    # Through Assistant.handle, so the terminal reaches incidents, feedback and hand-offs too.
    from adapters.cli.chat import quiet_start_up
    from adapters.cli.chat import run as run_chat

    quiet_start_up()
    return run_chat(ready_engine(args, settings))


def handle_eval(args: argparse.Namespace, settings: Settings) -> int:
    if args.source is not None or args.pool is not None:
        return handle_corpus_eval(args, settings)
    if args.file is None:
        raise ConfigurationError("give a question file, --source DIR or --pool DIR")
    cases = load_cases(args.file)
    engine = ready_engine(args, settings)
    report = evaluate(engine.answerer, cases)
    metrics = {**report.metrics(), "rule": engine.answerer.rule_in_force()}
    # A Chinese set with English twins adds "languages": both figures for the same questions,
    # and the rule Chinese questions are decided by.
    languages = twin_metrics(engine.answerer, load_twin_cases(args.file))
    if languages:
        metrics["languages"] = languages
        metrics["rule_zh"] = engine.answerer.rule_in_force("zh")
    print_metrics(metrics, as_json=args.json)
    if args.sweep:
        for row in threshold_sweep(report, [t / 100 for t in range(20, 80, 2)]):
            print(json.dumps(row), file=sys.stderr)
    return 0


def print_metrics(metrics: Mapping[str, object], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(metrics, ensure_ascii=False), flush=True)
    else:
        for key, value in metrics.items():
            print(f"{key:>14}: {value}", flush=True)
        print(flush=True)


def handle_corpus_eval(args: argparse.Namespace, settings: Settings) -> int:
    """Each corpus in an index of its own: under --index DIR (kept, so a rerun embeds nothing)
    or in a temporary folder removed afterwards."""
    from bot.answering.corpora import (
        corpus_from_folder,
        evaluate_corpus,
        macro_average,
        pool_corpora,
    )
    from knowledge.embedding import SentenceTransformerEmbedder

    if args.pool is not None:
        if args.source is not None or args.file is not None:
            raise ConfigurationError("--pool takes no question file and no --source")
        corpora = pool_corpora(args.pool)
    else:
        corpora = [corpus_from_folder(args.source, args.file)]
    embedder = SentenceTransformerEmbedder(settings.embedding_model)
    with tempfile.TemporaryDirectory(prefix="policybot-eval-") as scratch:
        root = args.index if args.index is not None else Path(scratch)
        rows = []
        for corpus in corpora:
            row = evaluate_corpus(corpus, settings, embedder=embedder, index_dir=root / corpus.name)
            rows.append(row)
            print_metrics(row, as_json=args.json)
    if args.pool is not None:
        print_metrics(macro_average(rows), as_json=args.json)
    return 0
