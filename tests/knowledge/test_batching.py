"""Questions embedded together are answered with the same citations as questions embedded
alone; a model failure reaches every caller of its batch."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from bot.answering.answer import Answerer
from knowledge.batching import BatchingEmbedder
from knowledge.embedding import Embedder

QUESTIONS = Path(__file__).resolve().parents[2] / "knowledge" / "eval" / "questions.jsonl"


def eval_questions(limit: int) -> list[str]:
    lines = QUESTIONS.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["q"] for line in lines if line.strip()][:limit]


def cited(answerer: Answerer, question: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    answer = answerer.answer(question)
    return answer.status.value, tuple((c.document, c.section) for c in answer.citations)


def test_batched_questions_get_the_same_citations_as_single_ones(engine):
    questions = eval_questions(48)
    single = [cited(engine.answerer, q) for q in questions]
    original = engine.index.embedder
    batching = BatchingEmbedder(original, window=0.2, max_batch=8)
    engine.index.embedder = batching
    try:
        start = threading.Barrier(8)

        def answer_after_start(question: str):
            start.wait()
            return cited(engine.answerer, question)

        batched: list = []
        with ThreadPoolExecutor(max_workers=8) as pool:
            for group in range(0, len(questions), 8):
                chunk = questions[group : group + 8]
                batched.extend(pool.map(answer_after_start, chunk))
                start.reset()
    finally:
        engine.index.embedder = original

    assert batched == single
    assert batching.batched_questions == len(questions)
    # Eight callers released together within a 200 ms window share model calls.
    assert batching.batches < len(questions)


class Failing(Embedder):
    name = "failing"
    dimension = 3

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        raise RuntimeError("model gone")


class Counting(Embedder):
    name = "counting"
    dimension = 2

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return np.array([[float(len(t)), 1.0] for t in texts], dtype=np.float32)


def test_a_model_failure_reaches_the_caller_and_the_batcher_keeps_going():
    inner = Failing()
    batching = BatchingEmbedder(inner, window=0.0)
    with pytest.raises(RuntimeError, match="model gone"):
        batching.embed(["a question"])
    with pytest.raises(RuntimeError, match="model gone"):
        batching.embed(["another"])


def test_each_caller_gets_its_own_row_and_several_texts_bypass_the_batcher():
    inner = Counting()
    batching = BatchingEmbedder(inner, window=0.0)

    assert batching.embed(["abc"]).tolist() == [[3.0, 1.0]]
    assert batching.embed(["a", "bb", "ccc"]).tolist() == [[1.0, 1.0], [2.0, 1.0], [3.0, 1.0]]
    assert inner.calls == [["abc"], ["a", "bb", "ccc"]]
    assert batching.batches == 1
