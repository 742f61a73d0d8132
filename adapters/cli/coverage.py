"""``policybot coverage``: does our policy cover every item of the PCPD's GenAI checklist?

Exit codes: 0 when the report was produced (whatever it says), 2 when there is nothing to
check: the source folder does not exist, it holds no policy document, or the index is empty.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

from adapters.cli.ingest import settings_for
from bot.answering.engine import build_engine, keep_data_local
from bot.settings import Settings
from knowledge.coverage import (
    CoverageReport,
    CoverageStatus,
    PolicyDocument,
    PolicySources,
    assess,
    empty_index_error,
    sources_from_folder,
    sources_from_index,
)
from knowledge.embedding import Embedder, SentenceTransformerEmbedder
from knowledge.index import make_client, read_pointer

ITEM_WIDTH, STATUS_WIDTH = 24, 8


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "coverage", help="check the policy against every item of the PCPD's GenAI checklist"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--source",
        type=Path,
        metavar="DIR",
        help="check the documents in this folder (default: the ingested index); each is "
        "policy unless its front matter says otherwise, e.g. kind: guidance",
    )
    where.add_argument(
        "--index",
        type=Path,
        metavar="DIR",
        help="index folder to check (default: POLICYBOT_DATA_DIR/index)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    report = build_report(args, settings)
    if args.json:
        print(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        print(format_report(report))
    return 0


def build_report(
    args: argparse.Namespace, settings: Settings, *, embedder: Embedder | None = None
) -> CoverageReport:
    """Load the policy (folder or index), then score it; bad input fails before the model loads."""
    sources: PolicySources
    if args.source is not None:
        sources = sources_from_folder(args.source)
        for path, error in sources.failures:
            print(f"skipped {path}: {error}", file=sys.stderr)
        keep_data_local()
        embedder = embedder or SentenceTransformerEmbedder(settings.embedding_model)
    else:
        settings = settings_for(args, settings)
        location = settings.chroma_url or str(settings.resolved_index_dir)
        client = make_client(index_dir=settings.resolved_index_dir, chroma_url=settings.chroma_url)
        if read_pointer(client) is None:
            raise empty_index_error(location)
        engine = build_engine(settings, embedder=embedder)
        sources = sources_from_index(engine.index.chunks(), location)
        embedder = engine.embedder
    return assess(sources, embedder)


def format_report(report: CoverageReport) -> str:
    """The human-readable report: the documents used, numbered, then one row per item whose
    evidence cites ``[n] section path``, ``n`` being the policy document's number."""
    numbers = {(d.source, d.document): n for n, d in enumerate(report.policy_documents, start=1)}
    lines = [f"Checked as the organisation's policy ({len(report.policy_documents)}):"]
    for document in report.policy_documents:
        number = numbers[(document.source, document.document)]
        lines.append(f"  [{number}] {_describe(document)}")
    if report.excluded_documents:
        lines.append(f"Not treated as policy ({len(report.excluded_documents)}):")
        lines += [f"  - {_describe(d)}" for d in report.excluded_documents]
    counts = report.counts()
    lines += [
        "",
        f"PCPD GenAI checklist: {len(report.items)} items; "
        + ", ".join(f"{status} {counts[status]}" for status in CoverageStatus),
        "",
        f"{'ITEM':<{ITEM_WIDTH}} {'STATUS':<{STATUS_WIDTH}} SCORE  BEST MATCHING SECTIONS",
    ]
    indent = " " * (ITEM_WIDTH + STATUS_WIDTH + 9)
    for result in report.items:
        citations = [
            f"[{numbers.get((e.source, e.document), '?')}] {e.section or '(untitled part)'}"
            for e in result.evidence
        ] or ["(no section matches)"]
        lines.append(
            f"{result.item.id:<{ITEM_WIDTH}} {result.status:<{STATUS_WIDTH}} "
            f"{result.score:5.2f}  {citations[0]}"
        )
        lines += [indent + citation for citation in citations[1:]]
        if result.hint:
            lines += textwrap.wrap(
                f"hint: {result.hint}", width=100, initial_indent=indent, subsequent_indent=indent
            )
    return "\n".join(lines)


def _describe(document: PolicyDocument) -> str:
    version = f", version {document.version}" if document.version else ""
    return f"{document.document}{version} ({document.source}): {document.reason}"
