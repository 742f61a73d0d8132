"""When to answer "not found": a decision rule derived from the index it runs on.

The fused score has no fixed scale: it moves with the corpus (its size, its wording, the
embedding model), so a threshold chosen on one policy refuses good questions on another.
At ingest, two probe sets are scored against the new index:

- off-topic workplace questions (``probes/off_topic.<lang>.txt``, leave, payroll, IT help,
  facilities, travel, general knowledge ...), which no GenAI policy answers;
- near-topic questions (``probes/near_topic.<lang>.txt``): about AI, but not about what a
  workplace AI policy allows (model trivia, a tool's settings, the AI market, the AI team);
  optional per language;
- in-scope questions made from the index's own section headings with the templates in
  ``probes/in_scope.<lang>.txt``.

The threshold is the higher of a high quantile of the off-topic scores (0.90 beside near-topic
probes, 0.98 for a language without them) and the median of the near-topic scores, never
above a low quantile of the in-scope scores. Off-topic workplace questions alone set the
bar too low on a policy about AI: questions about AI that the policy does not cover score
between them and the in-scope ones, and no second signal (word coverage, score margin, best
sentence) separated them on policies it was not fitted on (``bench/bench_retrieval.py``),
so the near-topic probes move the threshold itself.

The rule and its evidence are stored as JSON beside the collection pointer, so every
process applies the same rule, and are keyed by question language: adding
``off_topic.zh.txt`` and ``in_scope.zh.txt`` adds a rule for Chinese questions at the next
ingest (``near_topic.zh.txt`` is optional).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.crosslingual import detect_language

PROBES_DIR = Path(__file__).resolve().parent / "probes"
DEFAULT_LANGUAGE = "en"
METHOD = "off-topic-quantile/2"
# Fitted on every corpus of the evaluation pool; bench/bench_retrieval.py reports it held out.
# With near-topic probes (fitted on all corpora: the near-topic median does most of the work):
OFF_TOPIC_QUANTILE = 0.90
NEAR_TOPIC_QUANTILE = 0.5
# For a language without near-topic probes (Chinese today), as fitted before they existed.
OFF_TOPIC_QUANTILE_ALONE = 0.98
IN_SCOPE_QUANTILE = 0.10
MAX_IN_SCOPE_PROBES = 400
_NUMBERING = re.compile(r"^(?:[\w-]*\d[\w.-]*|[ivxlc]+\.|[a-z]\))[:.)]?\s+", re.IGNORECASE)

Scorer = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class ProbeSet:
    """The probes of one question language."""

    language: str
    off_topic: tuple[str, ...]
    templates: tuple[str, ...]
    near_topic: tuple[str, ...] = ()

    def in_scope(self, headings: Sequence[str]) -> list[str]:
        """One question per section heading, the templates taken in turn."""
        topics = sorted({topic for topic in (heading_topic(h) for h in headings) if topic})
        step = max(1, len(topics) // MAX_IN_SCOPE_PROBES)
        return [
            self.templates[i % len(self.templates)].format(topic=topic)
            for i, topic in enumerate(topics[::step])
        ]


@dataclass(frozen=True)
class DecisionRule:
    """Answer when the best fused score reaches ``threshold``; else say "not found"."""

    language: str
    threshold: float
    origin: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def answers(self, score: float) -> bool:
        return score >= self.threshold

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Calibration:
    """The decision rules of one index, by question language, and what they were made from."""

    rules: dict[str, DecisionRule]
    digest: str

    def rule_for(self, language: str) -> DecisionRule:
        """The rule for questions in ``language``; the default language's when it has none."""
        return self.rules.get(language) or self.rules[DEFAULT_LANGUAGE]

    def dumps(self) -> str:
        return json.dumps(
            {"digest": self.digest, "rules": {k: r.as_json() for k, r in self.rules.items()}},
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def loads(cls, text: str) -> Calibration | None:
        """The stored calibration, or None when it is missing or from an older format."""
        try:
            data = json.loads(text)
            rules = {k: DecisionRule(**v) for k, v in data["rules"].items()}
            digest = str(data["digest"])
        except (ValueError, KeyError, TypeError):
            return None
        return cls(rules=rules, digest=digest) if DEFAULT_LANGUAGE in rules else None


def question_language(question: str) -> str:
    """``zh`` for a question carried by Chinese, else ``en``: one rule with the reading of
    questions (:func:`knowledge.crosslingual.detect_language`), so a mixed question
    ("返工可唔可以用Apple Intelligence？") is decided by the rule its reading was scored by."""
    return detect_language(question)


def heading_topic(heading: str) -> str:
    """A section heading without its numbering ("4.3 Personal data" -> "personal data")."""
    last = heading.split(" › ")[-1].strip()
    return _NUMBERING.sub("", last).strip(" .:-").lower()


def _lines(path: Path) -> tuple[str, ...]:
    if not path.is_file():
        return ()
    text = path.read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip() and line[0] != "#")


def probe_sets(directory: Path = PROBES_DIR) -> list[ProbeSet]:
    """Every language with an off-topic file; the default language first."""
    sets = []
    for path in sorted(directory.glob("off_topic.*.txt")):
        language = path.name.split(".")[1]
        templates = _lines(directory / f"in_scope.{language}.txt") or ("{topic}",)
        near = _lines(directory / f"near_topic.{language}.txt")
        sets.append(ProbeSet(language, _lines(path), templates, near))
    return sorted(sets, key=lambda s: s.language != DEFAULT_LANGUAGE)


def calibration_digest(sets: Sequence[ProbeSet], headings: Sequence[str], ranker: str) -> str:
    """Changes when anything the rule is computed from changes (probes, sections, ranking)."""
    digest = hashlib.sha256()
    for part in (
        METHOD,
        str(OFF_TOPIC_QUANTILE),
        str(NEAR_TOPIC_QUANTILE),
        str(OFF_TOPIC_QUANTILE_ALONE),
        str(IN_SCOPE_QUANTILE),
        ranker,
        *sorted(headings),
        *(f"{s.language}\x1e{s.off_topic}\x1e{s.templates}\x1e{s.near_topic}" for s in sets),
    ):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x1f")
    return digest.hexdigest()[:16]


def decide_threshold(
    off_topic: np.ndarray,
    in_scope: np.ndarray,
    *,
    quantile: float = OFF_TOPIC_QUANTILE,
    near_topic: np.ndarray | None = None,
    near_quantile: float = NEAR_TOPIC_QUANTILE,
) -> float:
    """Above ``quantile`` of the off-topic scores and ``near_quantile`` of the near-topic
    ones, but not above the in-scope probes' low tail."""
    high = float(np.quantile(off_topic, quantile)) if len(off_topic) else 0.0
    if near_topic is not None and len(near_topic):
        high = max(high, float(np.quantile(near_topic, near_quantile)))
    if len(in_scope):
        high = min(high, float(np.quantile(in_scope, IN_SCOPE_QUANTILE)))
    return high


def _quantiles(scores: np.ndarray) -> dict[str, float]:
    if not len(scores):
        return {}
    points = (0.05, 0.5, 0.9, 0.95, 0.99)
    values = np.quantile(scores, points)
    return {f"q{int(p * 100)}": round(float(v), 4) for p, v in zip(points, values, strict=True)}


def calibrate(
    score: Scorer,
    headings: Sequence[str],
    *,
    ranker: str,
    sets: Sequence[ProbeSet] | None = None,
) -> Calibration:
    """Score the probes with ``score`` (best fused score per question) and derive the rules."""
    sets = list(sets if sets is not None else probe_sets())
    if not any(s.language == DEFAULT_LANGUAGE for s in sets):
        raise ValueError(f"no off-topic probes for {DEFAULT_LANGUAGE!r} in {PROBES_DIR}")
    rules = {}
    for probes in sets:
        in_scope_questions = probes.in_scope(headings)
        scores = score([*probes.off_topic, *probes.near_topic, *in_scope_questions])
        n_off, n_near = len(probes.off_topic), len(probes.near_topic)
        off, near = scores[:n_off], scores[n_off : n_off + n_near]
        inside = scores[n_off + n_near :]
        quantile = OFF_TOPIC_QUANTILE if n_near else OFF_TOPIC_QUANTILE_ALONE
        threshold = decide_threshold(off, inside, quantile=quantile, near_topic=near)
        rules[probes.language] = DecisionRule(
            language=probes.language,
            threshold=round(threshold, 6),
            origin="calibrated",
            evidence={
                "method": METHOD,
                "off_topic_quantile": quantile,
                "near_topic_quantile": NEAR_TOPIC_QUANTILE if n_near else None,
                "off_topic": {"count": len(off), **_quantiles(off)},
                "near_topic": {"count": len(near), **_quantiles(near)},
                "in_scope": {"count": len(inside), **_quantiles(inside)},
                "off_topic_refused": round(float(np.mean(off < threshold)), 4) if len(off) else 0,
                "near_topic_refused": round(float(np.mean(near < threshold)), 4)
                if len(near)
                else 0,
                "in_scope_answered": round(float(np.mean(inside >= threshold)), 4)
                if len(inside)
                else 0,
            },
        )
    return Calibration(rules=rules, digest=calibration_digest(sets, headings, ranker))
