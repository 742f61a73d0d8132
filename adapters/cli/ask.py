"""``policybot ask``, ``policybot chat`` and ``policybot eval``: the answer engine from a shell."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import textwrap
from pathlib import Path

from adapters.cli.ingest import add_index_option, settings_for
from bot.answering.engine import Engine, build_engine
from bot.answering.evaluation import evaluate, load_cases, threshold_sweep
from bot.assistant import Assistant
from bot.models import Answer, Status
from bot.settings import Settings


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
    ev.add_argument("file", type=Path, help="JSONL: {q, gold:[...]} or {q, kind: out}")
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
    if args.question == "-":
        questions = (line.rstrip("\n") for line in sys.stdin)
    else:
        questions = iter([args.question])
    assistant = Assistant(ready_engine(args, settings).answerer)
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


def handle_chat(args: argparse.Namespace, settings: Settings) -> int:
    # Through Assistant.handle, so the terminal reaches incidents, feedback and hand-offs too.
    from adapters.cli.chat import quiet_start_up
    from adapters.cli.chat import run as run_chat

    quiet_start_up()
    return run_chat(ready_engine(args, settings))


def handle_eval(args: argparse.Namespace, settings: Settings) -> int:
    cases = load_cases(args.file)
    engine = ready_engine(args, settings)
    report = evaluate(engine.answerer, cases)
    metrics = report.metrics()
    if args.json:
        print(json.dumps(metrics))
    else:
        for key, value in metrics.items():
            print(f"{key:>14}: {value}")
    if args.sweep:
        for row in threshold_sweep(report, [t / 100 for t in range(20, 80, 2)]):
            print(json.dumps(row), file=sys.stderr)
    return 0
