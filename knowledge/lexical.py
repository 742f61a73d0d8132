"""Lexical side of retrieval: a BM25 index (bm25s) over heading path and section text."""

from __future__ import annotations

import re
from collections.abc import Sequence

import bm25s
import numpy as np

_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    """a an and are as at be been but by can could do does for from had has have how i if in
    into is it its me my of on or our should so than that the their them then there these they
    this to up us was we were what when where which who whom why will with would you your
    am any about also just please pls u ur im i'm""".split()
)
_SUFFIXES = ("ing", "ed", "es", "s")


def stem(word: str) -> str:
    """A deliberately light stemmer: enough to match 'tools'/'tool', 'storing'/'store'."""
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def tokenize(text: str) -> list[str]:
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in _STOPWORDS]


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
