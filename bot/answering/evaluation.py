"""Retrieval and refusal quality on a labelled question set (``policybot eval``)."""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.answering.answer import Answerer
from bot.errors import ConfigurationError
from bot.models import Status


@dataclass(frozen=True)
class Case:
    question: str
    gold: tuple[str, ...] = ()

    @property
    def out_of_scope(self) -> bool:
        return not self.gold


@dataclass
class CaseResult:
    case: Case
    rank: int | None
    status: Status
    top_score: float
    latency_ms: float


@dataclass
class EvalReport:
    results: list[CaseResult] = field(default_factory=list)

    def metrics(self) -> dict[str, float | int]:
        inside = [r for r in self.results if not r.case.out_of_scope]
        outside = [r for r in self.results if r.case.out_of_scope]
        latencies = sorted(r.latency_ms for r in self.results)

        def share(values: Sequence[bool]) -> float:
            return round(sum(values) / len(values), 4) if values else 0.0

        return {
            "questions": len(self.results),
            "in_scope": len(inside),
            "out_of_scope": len(outside),
            "hit@1": share([r.rank == 1 for r in inside]),
            "hit@3": share([r.rank is not None and r.rank <= 3 for r in inside]),
            "mrr": round(sum(1 / r.rank for r in inside if r.rank) / len(inside), 4)
            if inside
            else 0.0,
            "refusal": share([r.status is Status.NOT_FOUND for r in outside]),
            "false_refusal": share([r.status is Status.NOT_FOUND for r in inside]),
            "p50_ms": round(percentile(latencies, 50), 2),
            "p95_ms": round(percentile(latencies, 95), 2),
        }


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (1-99, inclusive method); 0.0 for no values."""
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(sorted(values), n=100, method="inclusive")[int(q) - 1]


def latency_summary(values: Sequence[float]) -> dict[str, float]:
    """p50, p95, p99 and max of a list of latencies, as the benchmarks report them."""
    return {
        "p50": statistics.median(values),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": max(values),
    }


def load_cases(path: Path) -> list[Case]:
    """Lines ``{"q", "gold": [...]}`` or ``{"q", "kind": "out"}``; a bad line names its number."""
    cases = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            question = str(row["q"])
            gold = tuple(str(g) for g in row.get("gold", ()))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ConfigurationError(f"{path}:{number}: not a question line ({exc})") from exc
        if not gold and row.get("kind") != "out":
            raise ConfigurationError(f'{path}:{number}: give "gold" sections or "kind": "out"')
        cases.append(Case(question=question, gold=gold))
    if not cases:
        raise ConfigurationError(f"{path} has no questions")
    return cases


def matches(section: str, gold: Sequence[str], *, document: str = "") -> bool:
    """A gold label matches a citation when it is a case-insensitive part of its section path.

    This is the evaluation pool's rule (``../shared/eval-pool/README.md``): a label may give
    the full path, the section's own heading or just its number ("G-DH-01"). Text before a
    document's first heading has an empty path and is named by the document's title.
    """
    name = (section or document).casefold()
    return bool(name) and any(g.casefold() in name for g in gold if g)


def evaluate(answerer: Answerer, cases: Sequence[Case], *, depth: int = 10) -> EvalReport:
    report = EvalReport()
    for case in cases:
        hits = answerer.index.search(case.question, limit=depth)
        rank = next(
            (
                i
                for i, hit in enumerate(hits, start=1)
                if matches(hit.chunk.section, case.gold, document=hit.chunk.document)
            ),
            None,
        )
        answer = answerer.answer(case.question)
        report.results.append(
            CaseResult(
                case=case,
                rank=rank,
                status=answer.status,
                top_score=hits[0].score if hits else 0.0,
                latency_ms=answer.latency_ms,
            )
        )
    return report


def threshold_sweep(report: EvalReport, thresholds: Sequence[float]) -> list[dict[str, float]]:
    """Refusal and false refusal each threshold would give (scores are already known)."""
    inside = [r.top_score for r in report.results if not r.case.out_of_scope]
    outside = [r.top_score for r in report.results if r.case.out_of_scope]
    rows = []
    for t in thresholds:
        rows.append(
            {
                "threshold": round(t, 3),
                "refusal": round(sum(s < t for s in outside) / max(1, len(outside)), 4),
                "false_refusal": round(sum(s < t for s in inside) / max(1, len(inside)), 4),
            }
        )
    return rows
