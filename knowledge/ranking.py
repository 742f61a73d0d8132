"""The fused score: how the section, sentence and lexical signals of a question combine.

Signals are computed for a batch of questions at once (a matrix per signal, a row per
question, a column per section), so calibration at ingest and the benchmarks score hundreds
of questions in one pass, and answering one question is the same code with one row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

# Questions that name the regulator or the law are about the guidance; the rest are about
# what the employee may do, where the organisation's own policy is the authority.
_REGULATOR_TERMS = re.compile(
    r"\b(pcpd|commissioner|checklist|framework|dpp\d?|pdpo|ordinance|cap\.? ?486|laws?|legal|"
    r"illegal|offen[cs]es?|fines?|penalt\w*|jail|prison\w*|regulator|watchdog|hong kong|hk)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class FusionWeights:
    """Weights of the fused score, fitted across corpora (``bench/bench_retrieval.py``).

    ``authority`` applies only to an index holding both the organisation's policy and
    regulator guidance: in a policy-only index it would lift every section alike.
    """

    dense: float = 0.40
    sentence: float = 0.20
    lexical: float = 0.40
    authority: float = 0.08


@dataclass(frozen=True)
class Signals:
    """Each signal as a (questions × sections) matrix of similarities."""

    dense: np.ndarray
    sentence: np.ndarray
    lexical: np.ndarray
    about_regulator: np.ndarray


def about_regulator(questions: list[str]) -> np.ndarray:
    return np.array([bool(_REGULATOR_TERMS.search(q)) for q in questions], dtype=bool)


def fuse(signals: Signals, weights: FusionWeights, is_policy: np.ndarray) -> np.ndarray:
    """Fused scores, (questions × sections); higher is better, on no fixed scale."""
    fused = (
        weights.dense * signals.dense
        + weights.sentence * signals.sentence
        + weights.lexical * signals.lexical
    )
    mixed = bool(is_policy.any() and (~is_policy).any())
    if mixed and weights.authority:
        authority = is_policy[None, :] != signals.about_regulator[:, None]
        fused = fused + weights.authority * authority
    return fused
