"""Figures for questions asked in Chinese, beside the same questions asked in English.

A Chinese question set (``knowledge/eval/questions-zh.jsonl``, ``knowledge/eval/pool-zh/``)
gives each question an English twin (``"en"``) and a style (``"written"`` or
``"cantonese"``), so one run shows what the translation path costs on the same
questions. Gold strings follow the eval pool's rule: a case-insensitive substring of the
cited section's heading path (or of the document title, for text before any heading).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.answering.answer import Answerer
from bot.answering.evaluation import Case, CaseResult, EvalReport
from bot.errors import ConfigurationError
from bot.settings import BUNDLED_SOURCES
from knowledge.index import Hit

CHINESE_SETS = BUNDLED_SOURCES.parent / "eval"


def chinese_cases_for(corpus: str, questions: Path) -> list[TwinCase]:
    """The Chinese twins to evaluate a corpus on: its question file when that is a Chinese
    set, else the project's set for it (``questions-zh.jsonl`` for the bundled corpus,
    ``pool-zh/<corpus>.jsonl`` for an eval-pool policy); empty when there is none."""
    own = load_twin_cases(questions)
    if own:
        return own
    path = CHINESE_SETS / (
        "questions-zh.jsonl" if corpus == "bundled" else f"pool-zh/{corpus}.jsonl"
    )
    return load_twin_cases(path) if path.is_file() else []


@dataclass(frozen=True)
class TwinCase:
    """A question in Chinese, the same question in English, and where the answer is."""

    question: str
    english: str
    gold: tuple[str, ...]
    style: str = "written"


def load_twin_cases(path: Path) -> list[TwinCase]:
    """Lines ``{"q", "en", "style", "gold": [...]}`` or ``{..., "kind": "out"}``.

    Returns an empty list when the file's questions have no English twins (an ordinary
    question set); a twin line without gold or ``"kind": "out"`` names its line number.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from exc
    cases = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigurationError(f"{path}:{number}: not a question line ({exc})") from exc
        if not isinstance(row, dict) or "en" not in row:
            return []
        gold = tuple(str(g) for g in row.get("gold", ()))
        if not gold and row.get("kind") != "out":
            raise ConfigurationError(f'{path}:{number}: give "gold" sections or "kind": "out"')
        cases.append(
            TwinCase(
                question=str(row["q"]),
                english=str(row["en"]),
                gold=gold,
                style=str(row.get("style", "written")),
            )
        )
    return cases


def cites_gold(hit: Hit, gold: Sequence[str]) -> bool:
    """The eval pool's rule: a gold string inside the section path (or document title)."""
    where = (hit.chunk.section or hit.chunk.document).lower()
    return any(g.lower() in where for g in gold)


def question_report(
    answerer: Answerer, questions: Sequence[tuple[str, tuple[str, ...]]]
) -> EvalReport:
    """Rank of the first gold hit (top 10) and the answer's status, for each question."""
    report = EvalReport()
    for question, gold in questions:
        hits = answerer.index.search(question, limit=10)
        rank = next((i for i, hit in enumerate(hits, start=1) if cites_gold(hit, gold)), None)
        answer = answerer.answer(question)
        report.results.append(
            CaseResult(
                case=Case(question=question, gold=gold),
                rank=rank,
                status=answer.status,
                top_score=hits[0].score if hits else 0.0,
                latency_ms=answer.latency_ms,
            )
        )
    return report


def twin_metrics(answerer: Answerer, cases: Sequence[TwinCase]) -> dict[str, object]:
    """``policybot eval`` metrics for the Chinese questions, their English twins, and the
    Chinese questions by style, as new keys: ``{"zh", "en", "zh_written", "zh_cantonese"}``.

    Off-topic questions count in every style subset, so each subset shows its refusal too.
    """
    if not cases:
        return {}
    figures: dict[str, object] = {
        "zh": question_report(answerer, [(c.question, c.gold) for c in cases]).metrics(),
        "en": question_report(answerer, [(c.english, c.gold) for c in cases]).metrics(),
    }
    for style in sorted({c.style for c in cases if c.gold}):
        chosen = [(c.question, c.gold) for c in cases if c.style == style or not c.gold]
        figures[f"zh_{style}"] = question_report(answerer, chosen).metrics()
    return figures
