"""Knowledge gaps: similar unanswered or unhelpful questions end up in one group."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np

from bot.handoff.gaps import LoggedQuestion, group_questions
from knowledge.embedding import Embedder

START = datetime(2026, 3, 1, tzinfo=UTC)


def logged(*questions: str, reason: str = "not_found") -> list[LoggedQuestion]:
    return [
        LoggedQuestion(question=q, reason=reason, at=START + timedelta(minutes=n))
        for n, q in enumerate(questions)
    ]


class TopicEmbedder(Embedder):
    """Vectors by topic word: questions sharing a topic are parallel, others orthogonal."""

    name = "topics"
    dimension = 3
    topics = ("vendor", "intern", "weather")

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        rows = []
        for text in texts:
            row = np.array([float(t in text.lower()) for t in self.topics]) + 0.01
            rows.append(row / np.linalg.norm(row))
        return np.stack(rows)


def test_with_an_embedder_paraphrases_form_one_group_biggest_first() -> None:
    entries = logged(
        "Who approves a new AI vendor?",
        "What is the weather?",
        "vendor approval process for AI tools",
        "Who approves a new AI vendor?",
    ) + logged("Can interns use Copilot?", reason="unhelpful")
    gaps = group_questions(entries, embedder=TopicEmbedder())
    assert [(g.question, g.count) for g in gaps] == [
        ("Who approves a new AI vendor?", 3),
        ("What is the weather?", 1),  # equal counts: the most recent first
        ("Can interns use Copilot?", 1),
    ]
    assert gaps[0].examples == (
        "Who approves a new AI vendor?",
        "vendor approval process for AI tools",
    )
    assert (gaps[0].not_found, gaps[0].unhelpful) == (3, 0)
    assert (gaps[2].not_found, gaps[2].unhelpful) == (0, 1)
    assert gaps[0].last_seen == START + timedelta(minutes=3)
    assert str(gaps[0]) == "Who approves a new AI vendor? (asked 3 times)"
    assert str(gaps[2]) == "Can interns use Copilot? (asked once)"


def test_without_an_embedder_near_identical_wordings_are_grouped() -> None:
    gaps = group_questions(
        logged(
            "can interns use copilot",
            "Can interns use Copilot?",
            "can interns use chatgpt",
            "who approves AI vendors",
        )
    )
    assert [(g.question, g.count) for g in gaps][0] == ("can interns use copilot", 2)
    assert len(gaps) == 3
    assert group_questions([]) == []
