"""Lexical side of retrieval: a BM25 index (bm25s) over heading path and section text."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import bm25s
import numpy as np

_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "can",
        "could",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "should",
        "so",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "up",
        "us",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "am",
        "any",
        "about",
        "also",
        "just",
        "please",
        "pls",
        "u",
        "ur",
        "im",
        "i'm",
    ]
)
_SUFFIXES = ("ing", "ed", "es", "s")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A deliberately light stemmer: enough to match 'tools'/'tool', 'storing'/'store'.

    Cached: a policy's vocabulary is small and its words come back in every question and
    every sentence considered for quoting."""
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def tokenize(text: str) -> list[str]:
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in _STOPWORDS]


@lru_cache(maxsize=32768)
def term_set(text: str) -> frozenset[str]:
    """The distinct terms of ``text``, cached: composing an answer compares the question with
    the same index sentences again and again; tokenizing them was the largest part of an
    answer's CPU outside the model, itself small beside the model's (0.6 ms against 4.4 ms a
    question; ``bench/results/answer_cpu.md``)."""
    return frozenset(tokenize(text))


# Chat shorthand seen in employees' questions, spelled out before retrieval.
_SHORTHAND = {
    "b4": "before",
    "shud": "should",
    "shld": "should",
    "wat": "what",
    "abt": "about",
    "pls": "please",
    "plz": "please",
    "u": "you",
    "ur": "your",
    "r": "are",
    "cuz": "because",
    "bc": "because",
    "msg": "message",
    "pw": "password",
    "pwd": "password",
    "govt": "government",
    "info": "information",
    "w/": "with",
    "w/o": "without",
    "thru": "through",
    "tho": "though",
    "gen": "generative",
    "genai": "generative AI",
    "llm": "AI chatbot",
    "dept": "department",
    "mgr": "manager",
    "asap": "quickly",
    "hkid": "HKID identity card number",
    "ok": "allowed",
}
_TOKEN = re.compile(r"[A-Za-z0-9/']+")


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Common English words: the whole, alphabetic entries of five letters or more in the
    bundled model's WordPiece vocabulary (``vocab.txt``, about 18,000), read without loading
    the model. Empty when the model package is missing."""
    from bot.errors import ModelError
    from knowledge.embedding import bundled_model_path

    try:
        text = (bundled_model_path() / "vocab.txt").read_text(encoding="utf-8")
    except (ModelError, OSError):
        return frozenset()
    return frozenset(w for w in text.split() if len(w) >= 5 and w.isascii() and w.isalpha())


class Speller:
    """Corrects a query word that is one edit away from exactly one word of the corpus.

    Only words of five letters or more that are neither in the corpus nor in ``known``
    (by default :func:`english_words`) are touched, so real words and acronyms pass through
    unchanged: "apply" is not the corpus's "apple", nor "notion" its "option".
    """

    def __init__(self, texts: Sequence[str], *, known: frozenset[str] | None = None) -> None:
        self.known = english_words() if known is None else known
        self.vocabulary = {w for text in texts for w in _WORD.findall(text.lower())}
        self._by_deletion: dict[str, set[str]] = {}
        for word in self.vocabulary:
            if len(word) >= 4:
                for key in _deletions(word) | {word}:
                    self._by_deletion.setdefault(key, set()).add(word)

    def correct(self, word: str) -> str:
        lower = word.lower()
        if len(lower) < 5 or lower in self.vocabulary or lower in self.known or not lower.isalpha():
            return word
        candidates: set[str] = set(self._by_deletion.get(lower, ()))
        for key in _deletions(lower):
            candidates |= self._by_deletion.get(key, set())
        candidates = {c for c in candidates if abs(len(c) - len(lower)) <= 1}
        return candidates.pop() if len(candidates) == 1 else word

    def normalise(self, question: str) -> str:
        """Spell out shorthand and fix one-letter typos; the rest of the text is kept."""

        def replace(match: re.Match[str]) -> str:
            word = match.group(0)
            expanded = _SHORTHAND.get(word.lower())
            return expanded if expanded is not None else self.correct(word)

        return _TOKEN.sub(replace, question)


class LexicalIndex:
    """BM25 scores for every chunk, squashed to [0, 1) without losing the absolute scale.

    A rank-relative normalisation (divide by the best score) would make the top hit of an
    off-topic question look as strong as a real match, so the score is ``s / (s + k)``.
    """

    def __init__(self, texts: Sequence[str], *, saturation: float = 6.0) -> None:
        self._size = len(texts)
        self._saturation = saturation
        self._bm25 = bm25s.BM25()
        corpus = [tokenize(text) or ["_empty_"] for text in texts]
        if corpus:
            self._bm25.index(corpus, show_progress=False)

    def scores(self, query: str) -> np.ndarray:
        tokens = tokenize(query)
        if not self._size or not tokens:
            return np.zeros(self._size, dtype=np.float32)
        raw = np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)
        return raw / (raw + self._saturation)
