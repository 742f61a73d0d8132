"""Knowledge gaps: group the questions the bot did not serve well, so the policy can grow.

Grouping is greedy and single-pass, newest question first: a question joins the group
whose centroid it resembles most if that is close enough, else it starts a group. With an
embedder the resemblance is the cosine similarity of the questions' vectors; without one it
is the Jaccard overlap of their stemmed content words, which only groups near-identical
wordings. The cosine threshold comes from eleven hand-made pairs with all-MiniLM-L6-v2: five
of six paraphrase pairs ("can I use chatgpt for customer emails" / "is ChatGPT allowed for
customer e-mails") scored 0.71-0.91 and the sixth 0.695; different questions on the same
tool ("can interns use copilot" / "... chatgpt") up to 0.689. The grouping errs towards
keeping questions apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from bot.handoff.tickets import Gap
from knowledge.embedding import Embedder
from knowledge.lexical import tokenize

COSINE_THRESHOLD = 0.70
JACCARD_THRESHOLD = 0.55
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class LoggedQuestion:
    question: str
    reason: str  # "not_found" or "unhelpful"
    at: datetime


@dataclass
class _Group:
    members: list[LoggedQuestion] = field(default_factory=list)
    vector: np.ndarray | None = None
    words: set[str] = field(default_factory=set)

    def gap(self) -> Gap:
        examples: list[str] = []
        for member in self.members:
            if member.question not in examples:
                examples.append(member.question)
        return Gap(
            question=_representative(self.members),
            count=len(self.members),
            not_found=sum(m.reason == "not_found" for m in self.members),
            unhelpful=sum(m.reason == "unhelpful" for m in self.members),
            examples=tuple(examples[:MAX_EXAMPLES]),
            last_seen=max(m.at for m in self.members),
        )


def group_questions(
    entries: Sequence[LoggedQuestion], *, embedder: Embedder | None = None
) -> list[Gap]:
    """Groups of similar questions as :class:`Gap`, the largest (then most recent) first."""
    entries = [e for e in entries if e.question.strip()]
    if not entries:
        return []
    groups = (
        _by_vectors(entries, embedder.embed([e.question for e in entries]))
        if embedder is not None
        else _by_words(entries)
    )
    gaps = [group.gap() for group in groups]
    gaps.sort(key=lambda g: (-g.count, -(g.last_seen.timestamp() if g.last_seen else 0.0)))
    return gaps


def _by_vectors(entries: Sequence[LoggedQuestion], vectors: np.ndarray) -> list[_Group]:
    groups: list[_Group] = []
    centroids: list[np.ndarray] = []
    for entry, vector in zip(entries, vectors, strict=True):
        if centroids:
            scores = np.stack(centroids) @ vector
            best = int(np.argmax(scores))
            if scores[best] >= COSINE_THRESHOLD:
                group = groups[best]
                group.members.append(entry)
                assert group.vector is not None
                group.vector = group.vector + vector
                centroids[best] = group.vector / np.linalg.norm(group.vector)
                continue
        groups.append(_Group(members=[entry], vector=vector.copy()))
        centroids.append(vector)
    return groups


def _by_words(entries: Sequence[LoggedQuestion]) -> list[_Group]:
    groups: list[_Group] = []
    for entry in entries:
        words = set(tokenize(entry.question))
        best, best_score = None, 0.0
        for group in groups:
            score = _jaccard(words, group.words)
            if score > best_score:
                best, best_score = group, score
        if best is not None and best_score >= JACCARD_THRESHOLD:
            best.members.append(entry)
            # The group's vocabulary stays that of its first question, so a chain of small
            # overlaps cannot drag unrelated questions together.
            continue
        groups.append(_Group(members=[entry], words=words))
    return groups


def _jaccard(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 1.0 if a == b else 0.0
    return len(a & b) / len(a | b)


def _representative(members: Sequence[LoggedQuestion]) -> str:
    """The most frequent wording, ties going to the most recent."""
    counts: dict[str, int] = {}
    for member in members:
        counts[member.question] = counts.get(member.question, 0) + 1
    return max(counts, key=lambda q: counts[q])
