"""Evaluation across policies: each corpus is ingested into an index of its own and measured.

A corpus is a folder of policy files with a question set. The layout of the evaluation pool
(``corpus/`` beside ``questions.jsonl``) is recognised, so ``policybot eval --source DIR`` and
``--pool DIR`` run on any organisation's policy without configuration. The bundled example
policy with its questions is one corpus among the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.answering.engine import Engine, build_engine
from bot.answering.evaluation import evaluate, load_cases
from bot.answering.language_eval import chinese_cases_for, twin_metrics
from bot.errors import ConfigurationError
from bot.settings import BUNDLED_SOURCES, Settings
from knowledge.embedding import Embedder

BUNDLED_QUESTIONS = BUNDLED_SOURCES.parent / "eval" / "questions.jsonl"
BUNDLED_NAME = "bundled"
QUESTIONS_FILE = "questions.jsonl"
MACRO_NAME = "macro"
# Averaged over corpora; counts and latencies are not averaged.
AVERAGED = ("hit@1", "hit@3", "mrr", "refusal", "false_refusal")


@dataclass(frozen=True)
class Corpus:
    """A named set of policy folders and the questions asked of them."""

    name: str
    sources: tuple[Path, ...]
    questions: Path


def bundled_corpus() -> Corpus:
    return Corpus(name=BUNDLED_NAME, sources=(BUNDLED_SOURCES,), questions=BUNDLED_QUESTIONS)


def corpus_from_folder(folder: Path, questions: Path | None = None) -> Corpus:
    """A corpus from a folder: ``corpus/`` and ``questions.jsonl`` inside it, or the folder
    itself as the policy files with ``questions`` given (or found beside them)."""
    if not folder.is_dir():
        raise ConfigurationError(f"{folder} is not a folder; pass a folder of policy files")
    policy = folder / "corpus" if (folder / "corpus").is_dir() else folder
    questions = questions or folder / QUESTIONS_FILE
    if not questions.is_file():
        raise ConfigurationError(
            f"no questions for {folder}: put {QUESTIONS_FILE} in it or give the question file"
        )
    return Corpus(name=folder.resolve().name, sources=(policy,), questions=questions)


def pool_corpora(pool: Path, *, include_bundled: bool = True) -> list[Corpus]:
    """Every sub-folder of ``pool`` with a question set, by name, after the bundled corpus."""
    if not pool.is_dir():
        raise ConfigurationError(f"{pool} is not a folder; pass the evaluation pool's folder")
    found = [
        corpus_from_folder(folder)
        for folder in sorted(pool.iterdir())
        if folder.is_dir() and (folder / QUESTIONS_FILE).is_file()
    ]
    if not found and not include_bundled:
        raise ConfigurationError(f"{pool} holds no folder with a {QUESTIONS_FILE}")
    return ([bundled_corpus()] if include_bundled else []) + found


def corpus_engine(
    corpus: Corpus, settings: Settings, *, embedder: Embedder, index_dir: Path
) -> Engine:
    """An engine over an index of this corpus alone, ingested (a no-op when already current)."""
    local = settings.model_copy(update={"index_dir": index_dir, "sources": list(corpus.sources)})
    engine = build_engine(local, embedder=embedder)
    report = engine.ingest()
    if report.failed:
        failures = "; ".join(f"{f.path}: {f.error}" for f in report.failed)
        raise ConfigurationError(f"corpus {corpus.name} has files that cannot be read: {failures}")
    return engine


def evaluate_corpus(
    corpus: Corpus, settings: Settings, *, embedder: Embedder, index_dir: Path
) -> dict[str, Any]:
    """The metrics of one corpus, named, with the not-found rule its index used."""
    cases = load_cases(corpus.questions)
    engine = corpus_engine(corpus, settings, embedder=embedder, index_dir=index_dir)
    metrics = evaluate(engine.answerer, cases).metrics()
    row = {"corpus": corpus.name, **metrics, "rule": engine.answerer.rule_in_force()}
    # Chinese questions beside their English twins, where the project has a Chinese set.
    twins = chinese_cases_for(corpus.name, corpus.questions)
    if twins:
        row["languages"] = twin_metrics(engine.answerer, twins)
        row["rule_zh"] = engine.answerer.rule_in_force("zh")
    return row


def macro_average(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Each corpus counts once, whatever its number of questions."""
    macro: dict[str, Any] = {"corpus": MACRO_NAME, "corpora": len(rows)}
    for key in AVERAGED:
        macro[key] = round(sum(float(row[key]) for row in rows) / len(rows), 4) if rows else 0.0
    macro["p95_ms"] = max((float(row["p95_ms"]) for row in rows), default=0.0)
    return macro
