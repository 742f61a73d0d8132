"""Composers turn retrieved passages into the answer text with ``[n]`` citation markers.

The default is extractive and needs no language model. :class:`ChatModelComposer` uses a
LangChain chat model, but only with the passages it was given: every marker it writes is
checked against them, and any failure falls back to the extractive answer.
"""

from __future__ import annotations

import concurrent.futures
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.errors import ComposerError
from knowledge.index import Hit
from knowledge.lexical import tokenize

_MARKER = re.compile(r"\[(\d{1,2})\]")


@dataclass(frozen=True)
class Composition:
    text: str
    composer: str


class Composer(ABC):
    """Writes an answer from numbered passages: ``passages[i]`` is cited as ``[i + 1]``."""

    name: str

    @abstractmethod
    def compose(self, question: str, passages: Sequence[Hit]) -> Composition:
        """Return the answer text; raise :class:`ComposerError` if no valid answer results."""


class ExtractiveComposer(Composer):
    """Quotes the sentences of the retrieved sections that best answer the question."""

    name = "extractive"

    def __init__(self, *, max_sentences: int = 3) -> None:
        self.max_sentences = max_sentences

    def compose(self, question: str, passages: Sequence[Hit]) -> Composition:
        terms = set(tokenize(question))
        picked: list[tuple[int, str]] = []
        for n, hit in enumerate(passages, start=1):
            ranked = sorted(
                hit.best_sentences or ((hit.chunk.text, hit.dense),),
                key=lambda pair: -(pair[1] + 0.1 * _overlap(terms, pair[0])),
            )
            take = 2 if n == 1 else 1
            for sentence, _ in ranked[:take]:
                if len(picked) < self.max_sentences:
                    picked.append((n, sentence))
        text = " ".join(f"{_as_statement(sentence)} [{n}]" for n, sentence in picked)
        return Composition(text=text, composer=self.name)


def _overlap(terms: set[str], sentence: str) -> float:
    if not terms:
        return 0.0
    return len(terms & set(tokenize(sentence))) / len(terms)


def _as_statement(sentence: str) -> str:
    sentence = sentence.strip().lstrip("-*• ").strip()
    return sentence if sentence.endswith((".", "!", "?", ":", ";")) else f"{sentence}."


SYSTEM_PROMPT = (
    "You answer employees' questions about their organisation's generative-AI policy and the "
    "Hong Kong privacy regulator's guidance. Use ONLY the numbered passages given. Follow each "
    "statement with the marker of the passage it comes from, e.g. [1]. Keep the answer under "
    "120 words. If the passages do not answer the question, reply exactly NOT_COVERED."
)


def build_prompt(question: str, passages: Sequence[Hit]) -> list[tuple[str, str]]:
    blocks = "\n\n".join(
        f"[{n}]: ({hit.chunk.document} › {hit.chunk.section})\n{hit.chunk.text}"
        for n, hit in enumerate(passages, start=1)
    )
    return [("system", SYSTEM_PROMPT), ("human", f"Passages:\n{blocks}\n\nQuestion: {question}")]


def check_markers(text: str, passage_count: int) -> None:
    """Reject an answer with no marker or with a marker for a passage it was not given."""
    markers = [int(m) for m in _MARKER.findall(text)]
    if not markers:
        raise ComposerError("the model's answer cites no passage")
    unknown = sorted({m for m in markers if not 1 <= m <= passage_count})
    if unknown:
        raise ComposerError(
            f"the model cited passage(s) {unknown} but was given only {passage_count}"
        )


class ChatModelComposer(Composer):
    """A LangChain chat model, constrained to the passages and checked; see module docstring."""

    name = "chat_model"

    def __init__(self, model: Any, *, timeout_seconds: float) -> None:
        self.model = model
        self.timeout_seconds = timeout_seconds
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=4)

    def compose(self, question: str, passages: Sequence[Hit]) -> Composition:
        future = self._pool.submit(self.model.invoke, build_prompt(question, passages))
        try:
            message = future.result(timeout=self.timeout_seconds)
        except concurrent.futures.TimeoutError as exc:
            raise ComposerError(f"the chat model took longer than {self.timeout_seconds}s") from exc
        except Exception as exc:  # any provider error means: fall back to extractive
            raise ComposerError(f"the chat model failed: {exc.__class__.__name__}") from exc
        text = str(getattr(message, "content", message)).strip()
        if text == "NOT_COVERED":
            raise ComposerError("the chat model found the passages do not answer the question")
        check_markers(text, len(passages))
        return Composition(text=text, composer=self.name)


def chat_model_from_settings(provider: str, model: str) -> Any:
    """Build a chat model through ``init_chat_model``; the provider's package must be installed."""
    from langchain.chat_models import init_chat_model

    return init_chat_model(model, model_provider=provider)
