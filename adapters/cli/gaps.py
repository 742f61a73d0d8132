"""``policybot gaps``: questions the knowledge base did not serve, grouped, biggest first.

Questions answered not_found or rated not helpful are grouped by meaning with the
configured embedding model (a few seconds to load), or by shared words with ``--lexical``.
"""

from __future__ import annotations

import argparse
import json

from bot.answering.engine import keep_data_local
from bot.handoff.lifecycle import SupportQueue
from bot.settings import Settings
from bot.store import open_store
from knowledge.embedding import Embedder, SentenceTransformerEmbedder


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("gaps", help="knowledge gaps: unanswered questions, grouped")
    parser.add_argument("--days", type=int, default=90, help="look back this many days (90)")
    parser.add_argument("--limit", type=int, default=50, help="at most this many groups (50)")
    parser.add_argument(
        "--lexical", action="store_true", help="group by shared words; skips loading the model"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    embedder: Embedder | None = None
    if not args.lexical:
        keep_data_local()
        embedder = SentenceTransformerEmbedder(settings.embedding_model)
    store = open_store(settings)
    try:
        gaps = SupportQueue(store, settings).knowledge_gaps(
            embedder=embedder, days=args.days, limit=args.limit
        )
    finally:
        store.close()
    if args.json:
        print(json.dumps({"gaps": [g.as_json() for g in gaps]}, ensure_ascii=False))
        return 0
    if not gaps:
        print(f"No knowledge gaps in the last {args.days} days.")
    for n, gap in enumerate(gaps, start=1):
        print(f"{n:>3}. {gap}  [not found {gap.not_found}, not helpful {gap.unhelpful}]")
        for example in gap.examples[1:]:
            print(f"       also: {example}")
    return 0
