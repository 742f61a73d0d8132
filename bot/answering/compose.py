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
from knowledge.chunking import split_sentences
from knowledge.index import Hit
from knowledge.lexical import term_set, tokenize

_MARKER = re.compile(r"\[(\d{1,2})\]")
_ITEM = re.compile(r"^(?:[-*+•]\s+|\d{1,3}[.)]\s+|\([a-z0-9]{1,4}\)\s+|\[[ xX]\]\s+|\|)")


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
    """Quotes the sentences of the retrieved sections that best answer the question.

    The first sentence is the best answer of the best section (a rule before an example of
    it, when both are picked from that section); a list item or table row is quoted whole
    with the sentence that introduces it, so "the following are prohibited:" is never cut
    from the items it introduces.
    """

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
            quoted = [quotable(sentence, hit.chunk.text) for sentence, _ in ranked[:take]]
            for sentence in sorted(quoted, key=is_example):
                if len(picked) < self.max_sentences:
                    picked.append((n, sentence))
        text = " ".join(f"{_as_statement(sentence)} [{n}]" for n, sentence in picked)
        return Composition(text=text, composer=self.name)


_EXAMPLE = re.compile(r"^(?:(?:for example|for instance|as an example)\b|e\.g\.)", re.IGNORECASE)


def is_example(sentence: str) -> bool:
    """Whether a sentence only illustrates a rule ("For example, ..."): quoted after the rule
    it illustrates when both are picked from one section, so an answer opens with the rule."""
    return bool(_EXAMPLE.match(sentence.strip()))


def quotable(sentence: str, section_text: str) -> str:
    """The sentence as it should be quoted: a list item or table row with its lead-in, and a
    lead-in ("You must never:") with the first item it introduces."""
    lines = section_text.splitlines()
    position = next((i for i, line in enumerate(lines) if sentence in line), None)
    if not is_item(sentence):
        following = lines[position + 1 : position + 2] if position is not None else []
        if sentence.endswith(":") and following and is_item(following[0]):
            return f"{sentence} {as_item_text(following[0])}"
        return _with_inline_lead_in(sentence, lines[position] if position is not None else "")
    if sentence.startswith("|"):
        return table_row(sentence, lines[:position] if position is not None else [])
    lead = next(
        (
            line
            for line in reversed(lines[:position] if position is not None else [])
            if line.strip() and not is_item(line)
        ),
        "",
    )
    item = as_item_text(sentence)
    if not lead:
        return item
    lead_sentence = split_sentences(lead)[-1]
    joiner = " " if lead_sentence.endswith(":") else ": "
    return f"{lead_sentence.rstrip('.')}{joiner}{item}"


_POINTING_BACK = re.compile(r"^(?:this|these|that|those|it|they|such)\b", re.IGNORECASE)


def _with_inline_lead_in(sentence: str, line: str) -> str:
    """A sentence that a colon split from its lead-in within one paragraph ("This includes:
    HKID numbers ...; passport numbers ...") quoted with it, and with the sentence before
    when the lead-in only points back to it ("This", "These", "Such"); a lead-in ending in a
    colon, likewise, with what it introduces."""
    pieces = list(split_sentences(line))
    if sentence not in pieces:
        return sentence
    i = pieces.index(sentence)
    if sentence.endswith(":") and i + 1 < len(pieces):
        return f"{sentence} {pieces[i + 1]}"
    if i == 0 or not pieces[i - 1].endswith(":"):
        return sentence
    start = i - 1
    if start > 0 and _POINTING_BACK.match(pieces[start]):
        start -= 1
    return " ".join(pieces[start : i + 1])


def table_row(row: str, above: list[str]) -> str:
    """A table row with each cell named by its column header: "Label: Secret; AI use: No"."""
    header = row
    for line in reversed(above):
        if not line.startswith("|"):
            break
        header = line
    cells, names = _cells(row), _cells(header)
    if header == row or len(names) != len(cells):
        return as_item_text(row)
    return "; ".join(f"{name}: {cell}" for name, cell in zip(names, cells, strict=True))


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def is_item(text: str) -> bool:
    return bool(_ITEM.match(text.strip()))


def as_item_text(item: str) -> str:
    """ "- Do this" -> "Do this"; "| SECRET | Not permitted |" -> "SECRET: Not permitted"."""
    item = item.strip()
    if item.startswith("|"):
        cells = [cell.strip() for cell in item.strip("|").split("|") if cell.strip()]
        return " – ".join(cells[:1] + [", ".join(cells[1:])]) if len(cells) > 1 else "".join(cells)
    return _ITEM.sub("", item, count=1).strip()


def _overlap(terms: set[str], sentence: str) -> float:
    if not terms:
        return 0.0
    return len(terms & term_set(sentence)) / len(terms)


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
