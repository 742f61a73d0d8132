"""Ranking and refusal ideas for issue #13, measured held out (leave-one-corpus-out).

Run: ``python bench/bench_ranking_ideas.py POOL KEEP`` (KEEP as for ``bench_retrieval.py``:
the corpora's indexes, plus a cache of the extra vectors measured here). Prints one table.

Each idea is a way of turning a question set into score matrices (one per signal, questions ×
sections) and of fusing them; for every corpus, the signal weights, any parameter of the idea
and the calibration quantiles are fitted on the other corpora exactly as
``bench_retrieval.fit`` does (macro hit@1 + MRR for the ranking, then the highest refusal with
macro false refusal within budget), and the corpus is measured with them. Ideas:

- base: what ships (section dense, best-sentence dense, squashed BM25), its weights also
  fitted on hit@1 + hit@3 + MRR and on hit@1 + MRR averaged over neighbouring grid points;
- z-score / min-max: each signal standardised per question across the sections before fusion
  (the not-found rule then applies to the standardised fused score);
- reciprocal-rank fusion: the order by weighted 1/(60 + rank) per signal, the not-found rule
  on the raw fused score with the same weights (ranks carry no confidence);
- standardised on the off-topic probes: each signal centred and scaled by its spread over the
  index's own off-topic probes (an affine map per index, so refusal keeps a scale);
- heading-path dense: a fourth signal, the embedding of "document › heading path" alone;
- context sentences: sentences embedded as "heading: sentence" instead of bare;
- best-sentence BM25: a fourth signal, BM25 over "heading: sentence" units, best per section;
- BM25 variants: k1/b fitted, a stronger suffix stemmer, our own workplace-IT synonym map
  (query side), and their combinations;
- dense PRF: q' = q + a·mean of the top-k section vectors, a and k fitted;
- late interaction ("late: ..."; ``--only '^late'``): the same MiniLM model's contextual token
  vectors (special tokens and punctuation dropped, unit length, float16 in KEEP) and, per
  question and section, the mean over the question's pieces of each piece's best cosine among
  the section's pieces (MaxSim). Sections' pieces either come from its sentence units, each
  encoded alone, or from the section encoded whole (first 256 pieces); "best sentence" is the
  best single sentence's MaxSim. Question pieces count alike, without stop words, or by idf.
  Used as a fourth fused signal, as a reranker of the fused top-k (fused + β·MaxSim; k, β
  fitted with the weights; the refusal score stays the fused one), and as a refusal feature
  (the top section's score plus γ·coverage, the share of the question's pieces whose best
  match there reaches τ, or plus γ·MaxSim; τ and γ fitted with the calibration quantiles).
  ``--late-cost`` prints the token work's cost per question and per index instead.

Exploratory: the signals are recomputed here from the index's stored vectors (the shipped
path is ``knowledge.index``); ``base`` reproduces ``bench_retrieval.py``'s engine rows.
"""

from __future__ import annotations

import argparse
import itertools
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import bm25s
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_retrieval import EXTRA, NEAR_QUANTILES, QUANTILES  # noqa: E402
from bot.answering.corpora import BUNDLED_NAME, Corpus, corpus_engine, pool_corpora  # noqa: E402
from bot.answering.evaluation import load_cases, matches  # noqa: E402
from bot.settings import Settings  # noqa: E402
from knowledge.calibration import decide_threshold, probe_sets  # noqa: E402
from knowledge.embedding import SentenceTransformerEmbedder  # noqa: E402
from knowledge.index import read_questions  # noqa: E402
from knowledge.lexical import _STOPWORDS, _WORD, Speller, tokenize  # noqa: E402
from knowledge.ranking import about_regulator  # noqa: E402

SETS = ("q", "off", "near", "ins", "extra", "unl")
# Questions naming a tool, country or role the policy does not list (issue #13 item 5).
UNLISTED = ROOT / "knowledge" / "eval" / "pool-unlisted"
BUNDLED_UNLISTED = ROOT / "knowledge" / "eval" / "unlisted.jsonl"
AUTHORITY = 0.08
BUDGET = 0.05


@dataclass
class Material:
    """Everything one corpus's signals are computed from."""

    name: str
    texts: list[str]  # what BM25 indexes per section
    headings: list[str]
    is_policy: np.ndarray
    section: np.ndarray  # section vectors
    heading_path: np.ndarray  # "document › heading path" vectors
    sentence: np.ndarray  # sentence (and heading) vectors
    context: np.ndarray  # "heading: sentence" vectors (headings as they are)
    owner: np.ndarray
    queries: dict[str, list[str]]
    vectors: dict[str, np.ndarray]
    gold: np.ndarray
    outside: np.ndarray
    regulator: dict[str, np.ndarray] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)
    sentence_texts: list[str] = field(default_factory=list)
    unlisted_gold: np.ndarray | None = None  # gold of the "unl" set, as ``gold`` for "q"
    vocabulary: frozenset[str] = frozenset()  # the corpus's words (the speller's)
    speller: Speller | None = None
    raw: dict[str, list[str]] = field(default_factory=dict)  # the questions as asked
    # The same questions read another way (bench_unlisted.py): each section's fused score is
    # the better of this material's and the twin's.
    twin: Material | None = None
    twin_max: bool = True  # else the twin's section dense score is a fourth signal, "twin"
    sentences: list[str] = field(default_factory=list)  # the index's sentence units as stored
    chunk_texts: list[str] = field(default_factory=list)  # each section's text
    late_cache: Path | None = None  # where its token vectors are kept (float16)


def load(corpus: Corpus, embedder: SentenceTransformerEmbedder, keep: Path) -> Material:
    settings = Settings(data_dir=keep / "data", _env_file=None)
    engine = corpus_engine(corpus, settings, embedder=embedder, index_dir=keep / corpus.name)
    snap = engine.index._current()
    assert snap is not None
    cases = load_cases(corpus.questions)
    probes = probe_sets()[0]
    extra_file = EXTRA / f"{corpus.name}.jsonl"
    unlisted_file = (
        BUNDLED_UNLISTED if corpus.name == BUNDLED_NAME else UNLISTED / f"{corpus.name}.jsonl"
    )
    unlisted = load_cases(unlisted_file) if unlisted_file.is_file() else []
    questions = {
        "q": [c.question for c in cases],
        "off": list(probes.off_topic),
        "near": list(probes.near_topic),
        "ins": probes.in_scope(snap.headings),
        "extra": [c.question for c in load_cases(extra_file)] if extra_file.is_file() else [],
        "unl": [c.question for c in unlisted],
    }
    cache = keep / f"ideas-{corpus.name}-{snap.pointer['collection']}.npz"
    sentence_texts = [text for _, text in snap.sentences]
    heading_of = [snap.chunks[owner].section.split(" › ")[-1] for owner, _ in snap.sentences]
    contextual = [
        text if not quotable else f"{heading}: {text}"
        for text, heading, quotable in zip(sentence_texts, heading_of, snap.quotable, strict=True)
    ]
    paths = [f"{c.document} › {c.section}" if c.section else c.document for c in snap.chunks]
    queries, vectors = {}, {}
    for name, qs in questions.items():
        queries[name], vectors[name] = (
            read_questions(snap, embedder, engine.index.reader, qs) if qs else ([], None)
        )
    if cache.is_file():
        stored = np.load(cache)
        heading_path, context = stored["heading_path"], stored["context"]
    else:
        heading_path, context = embedder.embed(paths), embedder.embed(contextual)
        np.savez(cache, heading_path=heading_path, context=context)
    chunks = snap.chunks
    return Material(
        name=corpus.name,
        texts=[f"{c.document} {c.section} {c.section} {c.text}" for c in chunks],
        headings=snap.headings,
        is_policy=snap.is_policy,
        section=snap.section_vectors,
        heading_path=heading_path,
        sentence=snap.sentence_vectors,
        context=context,
        owner=snap.sentence_owner,
        queries=queries,
        vectors=vectors,
        gold=gold_matrix(chunks, cases),
        outside=np.array([case.out_of_scope for case in cases]),
        regulator={k: about_regulator(v) for k, v in queries.items()},
        labels=[f"{c.document} › {c.section}" for c in chunks],
        sentence_texts=contextual,
        unlisted_gold=gold_matrix(chunks, unlisted) if unlisted else None,
        vocabulary=frozenset(snap.speller.vocabulary),
        speller=snap.speller,
        raw=questions,
        sentences=[text for _, text in snap.sentences],
        chunk_texts=[f"{c.document}. {c.section or c.document}.\n{c.text}" for c in chunks],
        late_cache=keep / f"tokens-{corpus.name}-{snap.pointer['collection']}.npz",
    )


def gold_matrix(chunks: list, cases: list) -> np.ndarray:
    """(questions × sections): whether the section is one of the question's gold sections."""
    return np.array(
        [[matches(c.section, case.gold, document=c.document) for c in chunks] for case in cases]
    )


# --- late interaction (MaxSim over the model's contextual token vectors) --------------------

_PUNCT = re.compile(r"^[^\w]+$")
LATE_VARIANTS = ("content", "nostop", "idf")
# How a question's pieces (special tokens and punctuation already dropped) count in the mean:
# all alike ("content"), without whole-word stop words of the shipped lexical list ("nostop"),
# or weighted by their inverse document frequency over the corpus's sentence units ("idf").


@dataclass
class TokenStore:
    """Unit-length contextual token vectors of some texts (specials and punctuation dropped),
    grouped by unit; units are ordered by the section that owns them."""

    vectors: np.ndarray  # (tokens, dim) float32 in memory, float16 on disk
    starts: np.ndarray  # first token of each unit
    owner: np.ndarray  # section of each unit (non-decreasing)
    sections: int

    def section_starts(self) -> tuple[np.ndarray, np.ndarray]:
        present = np.unique(self.owner)
        return present, np.searchsorted(self.owner, present)


_TOKEN_MODEL: dict[str, object] = {}


def token_vectors(
    embedder: SentenceTransformerEmbedder, texts: list[str]
) -> list[tuple[list[str], np.ndarray]]:
    """Per text, its word pieces and their unit-length contextual vectors, without the special
    tokens and punctuation-only pieces."""
    model = embedder._model
    if not texts:
        return []
    out = model.encode(
        texts, output_value="token_embeddings", batch_size=32, show_progress_bar=False
    )
    ids = model.tokenizer(texts, truncation=True, max_length=model.max_seq_length)["input_ids"]
    special = set(model.tokenizer.all_special_ids)
    rows = []
    for tensor, piece_ids in zip(out, ids, strict=True):
        vectors = tensor.float().numpy()
        assert len(piece_ids) == len(vectors)
        pieces = model.tokenizer.convert_ids_to_tokens(piece_ids)
        keep = [
            i
            for i, (pid, piece) in enumerate(zip(piece_ids, pieces, strict=True))
            if pid not in special and not _PUNCT.match(piece)
        ]
        v = vectors[keep]
        v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-9)
        rows.append(([pieces[i] for i in keep], v.astype(np.float32)))
    return rows


def build_store(
    embedder: SentenceTransformerEmbedder, texts: list[str], owner: np.ndarray, sections: int
) -> TokenStore:
    order = np.argsort(owner, kind="stable")
    encoded = token_vectors(embedder, [texts[i] for i in order])
    kept = [(o, v) for o, (_, v) in zip(owner[order], encoded, strict=True) if len(v)]
    lengths = np.array([len(v) for _, v in kept])
    return TokenStore(
        vectors=np.vstack([v for _, v in kept]).astype(np.float16),
        starts=np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64),
        owner=np.array([o for o, _ in kept], dtype=np.int64),
        sections=sections,
    )


_STORES: dict[str, dict[str, TokenStore]] = {}
_BUILD: dict[str, dict[str, tuple[float, int, int]]] = {}  # seconds, pieces, float16 bytes


def token_stores(m: Material) -> dict[str, TokenStore]:
    """The corpus's sentence units and whole sections as token vectors, cached under KEEP."""
    if m.name in _STORES:
        return _STORES[m.name]
    assert m.late_cache is not None
    n = len(m.texts)
    if m.late_cache.is_file():
        z = np.load(m.late_cache)
        stores = {
            unit: TokenStore(z[f"{unit}_v"], z[f"{unit}_s"], z[f"{unit}_o"], n)
            for unit in ("sent", "sec")
        }
        seconds = {u: float(z[f"{u}_seconds"]) for u in stores}
    else:
        embedder = _TOKEN_MODEL["embedder"]
        assert isinstance(embedder, SentenceTransformerEmbedder)
        stores, seconds = {}, {}
        for unit, texts, owner in (
            ("sent", m.sentences, m.owner),
            ("sec", m.chunk_texts, np.arange(n)),
        ):
            started = time.perf_counter()
            stores[unit] = build_store(embedder, texts, owner, n)
            seconds[unit] = time.perf_counter() - started
        arrays: dict[str, np.ndarray] = {
            f"{u}_{k}": getattr(st, f)
            for u, st in stores.items()
            for k, f in (("v", "vectors"), ("s", "starts"), ("o", "owner"))
        }
        arrays.update({f"{u}_seconds": np.array(t) for u, t in seconds.items()})
        np.savez(m.late_cache, **arrays)
    _BUILD[m.name] = {
        u: (seconds[u], st.vectors.shape[0], st.vectors.shape[0] * st.vectors.shape[1] * 2)
        for u, st in stores.items()
    }
    for st in stores.values():
        st.vectors = st.vectors.astype(np.float32)
    _STORES[m.name] = stores
    return stores


_DF: dict[str, tuple[int, dict[str, int]]] = {}


def piece_weights(m: Material, pieces: list[str], variant: str) -> np.ndarray:
    """The weight of each of a question's pieces in its MaxSim mean (see ``LATE_VARIANTS``);
    a question made only of stop words keeps them all."""
    weights = np.ones(len(pieces), dtype=np.float32)
    if variant == "nostop":
        weights = np.array([p not in _STOPWORDS for p in pieces], dtype=np.float32)
        if not weights.any():
            weights[:] = 1.0
    elif variant == "idf":
        if m.name not in _DF:
            embedder = _TOKEN_MODEL["embedder"]
            assert isinstance(embedder, SentenceTransformerEmbedder)
            tok = embedder._model.tokenizer
            df: dict[str, int] = {}
            for text in m.sentences:
                for piece in set(tok.tokenize(text)):
                    df[piece] = df.get(piece, 0) + 1
            _DF[m.name] = (len(m.sentences), df)
        units, df = _DF[m.name]
        weights = np.array(
            [np.log((units + 1) / (df.get(p, 0) + 0.5)) for p in pieces], dtype=np.float32
        )
    return weights


def weighted_mean(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Mean over the rows of ``x`` (a question's pieces) with the pieces' weights."""
    return (weights[:, None] * x).sum(axis=0) / max(float(weights.sum()), 1e-9)


def unit_max(q: np.ndarray, store: TokenStore) -> np.ndarray:
    """(question pieces × units): each piece's best cosine against a unit's pieces."""
    return np.maximum.reduceat(q @ store.vectors.T, store.starts, axis=1)


def by_section(x: np.ndarray, store: TokenStore, fill: float = -1.0) -> np.ndarray:
    """Max over each section's units (columns) of ``x``; ``fill`` for a section without any."""
    present, starts = store.section_starts()
    out = np.full((x.shape[0], store.sections), fill, dtype=np.float32)
    out[:, present] = np.maximum.reduceat(x, starts, axis=1)
    return out


@dataclass
class LateQuestions:
    """One question set against one corpus: per question, its pieces' best match in each
    section (both token stores) and the best sentence's MaxSim per variant."""

    pieces: list[list[str]]
    per_section: dict[str, list[np.ndarray]]  # store -> per question (pieces × sections)
    sentence_maxsim: dict[str, np.ndarray]  # variant -> (questions × sections)


_LATE: dict[tuple[str, str], LateQuestions] = {}


def late_questions(m: Material, which: str) -> LateQuestions:
    key = (m.name, which)
    if key not in _LATE:
        stores = token_stores(m)
        embedder = _TOKEN_MODEL["embedder"]
        assert isinstance(embedder, SentenceTransformerEmbedder)
        encoded = token_vectors(embedder, m.queries[which])
        n = len(m.texts)
        per_section: dict[str, list[np.ndarray]] = {"sent": [], "sec": []}
        sentence = {v: np.zeros((len(encoded), n), dtype=np.float32) for v in LATE_VARIANTS}
        for row, (pieces, q) in enumerate(encoded):
            units = unit_max(q, stores["sent"])
            per_section["sent"].append(by_section(units, stores["sent"]))
            per_section["sec"].append(by_section(unit_max(q, stores["sec"]), stores["sec"]))
            for v in LATE_VARIANTS:
                score = weighted_mean(units, piece_weights(m, pieces, v))[None, :]
                sentence[v][row] = by_section(score, stores["sent"])[0]
        _LATE[key] = LateQuestions([p for p, _ in encoded], per_section, sentence)
    return _LATE[key]


def late_signal(m: Material, which: str, name: str) -> np.ndarray:
    """(questions × sections) for a late-interaction signal named
    ``maxsim-<unit>-<variant>``: unit "sent" (a section's pieces are its sentences' pieces,
    each encoded in its sentence), "sec" (the section encoded whole, first 256 pieces) or
    "best" (the best single sentence's MaxSim); variant as in ``LATE_VARIANTS``."""
    _, unit, variant = name.split("-")
    lq = late_questions(m, which)
    if unit == "best":
        out = lq.sentence_maxsim[variant]
    else:
        rows = [
            weighted_mean(s, piece_weights(m, p, variant))
            for p, s in zip(lq.pieces, lq.per_section[unit], strict=True)
        ]
        out = np.vstack(rows) if rows else np.zeros((0, len(m.texts)), dtype=np.float32)
    if out.size:  # a section without pieces scores as the question's weakest section
        floor = np.where(out > -1, out, np.inf).min(axis=1, keepdims=True)
        out = np.where(out > -1, out, floor)
    return out


def coverage(m: Material, which: str, variant: str, tau: float) -> np.ndarray:
    """(questions × sections): the share of the question's counted pieces whose best match
    among the section's pieces (sentence store) reaches ``tau``."""
    lq = late_questions(m, which)
    rows = [
        weighted_mean((s >= tau).astype(np.float32), piece_weights(m, p, variant))
        for p, s in zip(lq.pieces, lq.per_section["sent"], strict=True)
    ]
    return np.vstack(rows) if rows else np.zeros((0, len(m.texts)), dtype=np.float32)


# --- signals -------------------------------------------------------------------------------


def best_per_section(sims: np.ndarray, owner: np.ndarray, sections: int) -> np.ndarray:
    best = np.full((sims.shape[0], sections), -1.0, dtype=np.float32)
    for row in range(sims.shape[0]):
        np.maximum.at(best[row], owner, sims[row])
    return best


_STRONG = (
    ("ational", "ate"),
    ("ization", "ize"),
    ("isation", "ise"),
    ("ingly", ""),
    ("ments", ""),
    ("ment", ""),
    ("ities", "ity"),
    ("ness", ""),
    ("ies", "y"),
    ("ing", ""),
    ("ed", ""),
    ("es", ""),
    ("ly", ""),
    ("s", ""),
)


def strong_stem(word: str) -> str:
    for suffix, repl in _STRONG:
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            word = word[: -len(suffix)] + repl
            break
    return word.rstrip("e") if len(word) > 4 else word


# Generic workplace-IT synonyms, written by us from general vocabulary (issue #13 idea 4),
# after seeing the bundled questions; expanded on the query side only.
SYNONYMS = {
    "login": "account credentials password sign",
    "log": "account credentials",
    "account": "login credentials",
    "password": "credentials login",
    "credentials": "password login account",
    "share": "shared sharing",
    "hacked": "compromised breach incident",
    "compromised": "breach incident",
    "breach": "incident compromised",
    "leak": "breach disclosure incident",
    "leaked": "breach disclosure incident",
    "plugin": "extension add-on integration",
    "extension": "plugin add-on",
    "addon": "plugin extension",
    "home": "remote",
    "remote": "home",
    "wfh": "remote home",
    "laptop": "device",
    "phone": "device mobile",
    "mobile": "device phone",
    "boss": "manager",
    "manager": "line supervisor",
    "customer": "client",
    "client": "customer",
    "staff": "employee",
    "employee": "staff",
    "colleague": "staff",
    "teammate": "colleague staff",
    "private": "personal confidential",
    "secret": "confidential",
    "confidential": "sensitive",
    "wrong": "inaccurate error",
    "mistake": "error inaccurate",
    "report": "notify",
    "tell": "notify report",
    "buy": "purchase procure",
    "pay": "purchase subscription",
    "approval": "approve authorised",
    "allowed": "permitted approved",
    "ok": "permitted approved",
    "install": "download",
    "picture": "image",
    "photo": "image",
    "code": "software",
    "train": "training",
}


def tokenizer(kind: str) -> Callable[[str], list[str]]:
    """The shipped tokenizer ("light"), or the same words under the stronger stemmer."""
    if kind != "strong":
        return tokenize

    def tok(text: str) -> list[str]:
        return [strong_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOPWORDS]

    return tok


def expand(query: str) -> str:
    words = _WORD.findall(query.lower())
    extra = [SYNONYMS[w] for w in words if w in SYNONYMS]
    return query + (" " + " ".join(extra) if extra else "")


_LEX_CACHE: dict[tuple[str, str, float, float, bool, str], np.ndarray] = {}


def lexical(m: Material, which: str, kind: str, k1: float, b: float, syn: bool) -> np.ndarray:
    key = (m.name, which, k1, b, syn, kind)
    if key not in _LEX_CACHE:
        tok = tokenizer(kind)
        bm = bm25s.BM25(k1=k1, b=b)
        bm.index([tok(t) or ["_empty_"] for t in m.texts], show_progress=False)
        rows = []
        for q in m.queries[which]:
            tokens = tok(expand(q) if syn else q)
            raw = (
                np.asarray(bm.get_scores(tokens), dtype=np.float32)
                if tokens
                else np.zeros(len(m.texts), dtype=np.float32)
            )
            rows.append(raw / (raw + 6.0))
        _LEX_CACHE[key] = np.vstack(rows) if rows else np.zeros((0, len(m.texts)))
    return _LEX_CACHE[key]


@dataclass(frozen=True)
class Idea:
    """How signals are made (``params`` one point of the idea's own grid) and fused."""

    name: str
    signals: tuple[str, ...] = ("dense", "sentence", "lexical")
    norm: str = "raw"  # raw | z | minmax | rrf
    context: bool = False
    lex_kind: str = "light"
    syn: bool = False
    # (k1, b, prf a, prf k), then for a reranker (top-k, weight of its signal)
    grid: tuple[tuple[float, ...], ...] = ((1.5, 0.75, 0.0, 0),)
    rerank: str = ""  # a late signal reordering the top-k of the fused order
    refusal: str = ""  # coverage-<variant> or a late signal, added to the top section's score
    # (threshold τ of coverage, weight γ): fitted with the calibration quantiles
    refusal_grid: tuple[tuple[float, ...], ...] = ((),)
    # What the weights maximise on the training corpora: hit1+mrr (as bench_retrieval),
    # hit1+hit3+mrr, or smooth[+hit3] (averaged over the weights' grid neighbours).
    objective: str = "hit1+mrr"


_MATS: dict[tuple, dict[str, np.ndarray]] = {}


def signal_mats(m: Material, which: str, idea: Idea, params: tuple[float, ...]) -> dict:
    """Raw signals by name, and each normalised the idea's way under ``norm:<name>``."""
    params = params[:4]  # the rest are the reranker's or the refusal feature's
    key = (m.name, which, idea.signals, idea.norm, idea.context, idea.lex_kind, idea.syn, params)
    if "twin" in idea.signals:
        assert m.twin is not None
        key = (*key, m.twin.name)
    if key not in _MATS:
        mats = _signal_mats(m, which, idea, params)
        if idea.norm == "probe":
            # Affine per index: centred and scaled by the signal's spread over the off-topic
            # probes against this index, so the weights meet signals on one scale everywhere.
            off = mats if which == "off" else _signal_mats(m, "off", idea, params)
            mats.update(
                {f"norm:{s}": (mats[s] - off[s].mean()) / off[s].std() for s in idea.signals}
            )
        else:
            mats.update({f"norm:{s}": normalise(mats[s], idea.norm) for s in idea.signals})
        _MATS[key] = mats
    return _MATS[key]


def _signal_mats(m: Material, which: str, idea: Idea, params: tuple[float, ...]) -> dict:
    k1, b, a, k = params
    q = m.vectors[which]
    dense = q @ m.section.T
    if a:
        top = np.argsort(-dense, axis=1)[:, : int(k)]
        centroid = m.section[top].mean(axis=1)
        q2 = q + a * centroid
        q2 = q2 / np.linalg.norm(q2, axis=1, keepdims=True)
        dense = q2 @ m.section.T
    sims = q @ (m.context if idea.context else m.sentence).T
    sentence = np.maximum(
        best_per_section(sims, m.owner, len(m.texts)), dense.min(axis=1, keepdims=True)
    )
    out = {"dense": dense, "sentence": sentence}
    out["lexical"] = lexical(m, which, idea.lex_kind, k1, b, idea.syn)
    if "twin" in idea.signals:
        assert m.twin is not None
        out["twin"] = m.twin.vectors[which] @ m.section.T
    if "heading" in idea.signals:
        out["heading"] = q @ m.heading_path.T
    if "sentence-bm25" in idea.signals:
        out["sentence-bm25"] = sentence_lexical(m, which, idea.lex_kind, k1, b)
    for name in idea.signals:
        if name.startswith("maxsim-"):
            out[name] = late_signal(m, which, name)
    return out


def sentence_lexical(m: Material, which: str, kind: str, k1: float, b: float) -> np.ndarray:
    """The best BM25 score of a sentence ("heading: sentence") of each section, squashed."""
    key = (m.name, which, k1, b, False, f"sentences/{kind}")
    if key not in _LEX_CACHE:
        tok = tokenizer(kind)
        bm = bm25s.BM25(k1=k1, b=b)
        bm.index([tok(t) or ["_empty_"] for t in m.sentence_texts], show_progress=False)
        raw = np.zeros((len(m.queries[which]), len(m.sentence_texts)), dtype=np.float32)
        for row, q in enumerate(m.queries[which]):
            if tokens := tok(q):
                raw[row] = bm.get_scores(tokens)
        best = np.zeros((raw.shape[0], len(m.texts)), dtype=np.float32)
        for row in range(raw.shape[0]):
            np.maximum.at(best[row], m.owner, raw[row])
        _LEX_CACHE[key] = best / (best + 6.0)
    return _LEX_CACHE[key]


def normalise(x: np.ndarray, norm: str) -> np.ndarray:
    if norm == "z":
        return (x - x.mean(axis=1, keepdims=True)) / (x.std(axis=1, keepdims=True) + 1e-6)
    if norm == "minmax":
        lo, hi = x.min(axis=1, keepdims=True), x.max(axis=1, keepdims=True)
        return (x - lo) / (hi - lo + 1e-6)
    if norm == "rrf":
        ranks = np.argsort(np.argsort(-x, axis=1), axis=1)
        return 1.0 / (60.0 + ranks)
    return x


def fused(
    m: Material,
    which: str,
    idea: Idea,
    params: tuple[float, ...],
    weights: tuple[float, ...],
    authority: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(order score, refusal score) matrices."""
    mats = signal_mats(m, which, idea, params)
    raw = sum(w * mats[s] for w, s in zip(weights, idea.signals, strict=True))
    order = sum(w * mats[f"norm:{s}"] for w, s in zip(weights, idea.signals, strict=True))
    mixed = bool(m.is_policy.any() and (~m.is_policy).any())
    if mixed:
        bonus = m.is_policy[None, :] != m.regulator[which][:, None]
        raw = raw + AUTHORITY * bonus
        order = order + authority * bonus
    if m.twin is not None and m.twin_max:
        twin_order, twin_raw = fused(m.twin, which, idea, params, weights, authority)
        order, raw = np.maximum(order, twin_order), np.maximum(raw, twin_raw)
    if idea.norm == "rrf":
        return order, raw  # ranks carry no confidence: refuse on the raw fused score
    conf = order
    if idea.rerank:
        # Only the order changes: the top-k by fused score, re-sorted by fused + β·MaxSim,
        # stay above the rest; the refusal score stays the fused one.
        top_k, beta = int(params[4]), params[5]
        cut = -np.sort(-order, axis=1)[
            :, min(top_k, order.shape[1]) - 1 : min(top_k, order.shape[1])
        ]
        late = late_signal(m, which, idea.rerank)
        order = np.where(order >= cut, 1e3 + order + beta * late, order)
    if idea.refusal and len(params) > 4:
        tau, gamma = params[-2:]
        if idea.refusal.startswith("coverage-"):
            feature = coverage(m, which, idea.refusal.split("-")[1], tau)
        else:
            feature = late_signal(m, which, idea.refusal)
        rows, top = np.arange(order.shape[0]), order.argmax(axis=1)
        conf = order.copy()
        conf[rows, top] += gamma * feature[rows, top]
    return order, conf


def metrics(m: Material, idea: Idea, params, weights, authority, rule) -> dict[str, float]:
    order, conf = fused(m, "q", idea, params, weights, authority)
    inside = ~m.outside
    best_gold = np.where(m.gold, order, -np.inf).max(axis=1)
    rank = 1 + (order > best_gold[:, None]).sum(axis=1)
    rank = np.where(np.isfinite(best_gold), rank, 10**6)[inside]
    out = {"hit1": np.mean(rank == 1), "hit3": np.mean(rank <= 3), "mrr": np.mean(1.0 / rank)}
    if rule is None:
        return out
    top = conf.max(axis=1)

    def best(which: str) -> np.ndarray:
        return fused(m, which, idea, params, weights, authority)[1].max(axis=1)

    quantile, near_q = rule
    threshold = decide_threshold(
        best("off"),
        best("ins"),
        quantile=quantile,
        near_topic=None if near_q is None else best("near"),
        near_quantile=near_q or 0.5,
    )
    refused = top < threshold
    out["refusal"] = float(np.mean(refused[m.outside])) if m.outside.any() else 0.0
    out["fr"] = float(np.mean(refused[inside]))
    if m.queries["extra"]:
        out["extra"] = float(np.mean(best("extra") < threshold))
    if m.unlisted_gold is not None:
        u_order, u_conf = fused(m, "unl", idea, params, weights, authority)
        u_gold = np.where(m.unlisted_gold, u_order, -np.inf).max(axis=1)
        u_rank = 1 + (u_order > u_gold[:, None]).sum(axis=1)
        out["u_hit1"] = float(np.mean(u_rank == 1))
        out["u_hit3"] = float(np.mean(u_rank <= 3))
        out["u_fr"] = float(np.mean(u_conf.max(axis=1) < threshold))
    return out


def weight_grid(n: int, step: float = 0.1) -> list[tuple[float, ...]]:
    steps = np.round(np.arange(0, 1 + 1e-9, step), 2)
    return [
        tuple(float(x) for x in w)
        for w in itertools.product(steps, repeat=n)
        if abs(sum(w) - 1) < 1e-9
    ]


def authority_scale(training: list[Material], idea: Idea, params, weights) -> float:
    """The authority prior in the units of the order score: 0.08 of the raw fused score's
    per-question spread, converted by the ratio of spreads on the training corpora."""
    if idea.norm == "raw":
        return AUTHORITY
    ratios = []
    for m in training:
        mats = signal_mats(m, "q", idea, params)
        raw = sum(w * mats[s] for w, s in zip(weights, idea.signals, strict=True))
        order = sum(w * mats[f"norm:{s}"] for w, s in zip(weights, idea.signals, strict=True))
        ratios.append(np.median(order.std(axis=1)) / np.median(raw.std(axis=1)))
    return AUTHORITY * float(np.mean(ratios))


def neighbours(weights: tuple[float, ...]) -> list[tuple[float, ...]]:
    """The weights and every grid point one 0.1 step away (moving weight between signals)."""
    out = [weights]
    for i, j in itertools.permutations(range(len(weights)), 2):
        if weights[i] >= 0.1 - 1e-9:
            w = list(weights)
            w[i], w[j] = round(w[i] - 0.1, 2), round(w[j] + 0.1, 2)
            out.append(tuple(w))
    return out


def fit(training: list[Material], idea: Idea):
    best = None
    plain: dict[tuple, float] = {}

    def objective(params, weights, auth) -> float:
        key = (params, weights)
        if key not in plain:
            total = 0.0
            for m in training:
                r = metrics(m, idea, params, weights, auth, None)
                total += r["hit1"] + r["mrr"] + (r["hit3"] if "hit3" in idea.objective else 0.0)
            plain[key] = total
        return plain[key]

    for params in idea.grid:
        for weights in weight_grid(len(idea.signals)):
            auth = AUTHORITY if idea.norm == "raw" else None
            if auth is None:
                auth = authority_scale(training, idea, params, weights)
            if idea.objective.startswith("smooth"):
                near = neighbours(weights)
                score = float(np.mean([objective(params, w, auth) for w in near]))
            else:
                score = objective(params, weights, auth)
            if best is None or score > best[0] + 1e-12:
                best = (score, params, weights, auth)
    assert best is not None
    _, params, weights, auth = best
    chosen: tuple = (-1.0, 0.0, (QUANTILES[0], None), params)
    for extra in idea.refusal_grid:
        for rule in itertools.product(QUANTILES, NEAR_QUANTILES):
            rows = [metrics(m, idea, (*params, *extra), weights, auth, rule) for m in training]
            fr = float(np.mean([r["fr"] for r in rows]))
            ref = float(np.mean([r["refusal"] for r in rows]))
            if fr <= BUDGET and (ref, -fr) > chosen[:2]:
                chosen = (ref, -fr, rule, (*params, *extra))
    return chosen[3], weights, auth, chosen[2]


def ideas() -> list[Idea]:
    k1s, bs = (0.9, 1.2, 1.5, 2.0), (0.5, 0.75, 0.9)
    return [
        Idea("base"),
        Idea("base, weights fitted on hit@1 + hit@3 + MRR", objective="hit1+hit3+mrr"),
        Idea("base, weights fitted on a smoothed hit@1 + MRR", objective="smooth"),
        Idea("z-score per question", norm="z"),
        Idea("min-max per question", norm="minmax"),
        Idea("reciprocal-rank fusion", norm="rrf"),
        Idea("standardised on the index's off-topic probes", norm="probe"),
        Idea("+ heading-path dense", signals=("dense", "sentence", "lexical", "heading")),
        Idea("context sentences", context=True),
        Idea("+ best-sentence BM25", signals=("dense", "sentence", "lexical", "sentence-bm25")),
        Idea("bm25 k1/b fitted", grid=tuple((k1, b, 0.0, 0) for k1 in k1s for b in bs)),
        Idea("bm25 stronger stemmer", lex_kind="strong"),
        Idea("bm25 + synonym map", syn=True),
        Idea(
            "bm25 stronger stemmer, k1/b fitted",
            lex_kind="strong",
            grid=tuple((k1, b, 0.0, 0) for k1 in k1s for b in bs),
        ),
        Idea("bm25 stronger stemmer + synonym map", lex_kind="strong", syn=True),
        Idea(
            "dense PRF",
            grid=tuple((1.5, 0.75, a, k) for a in (0.0, 0.1, 0.2, 0.3, 0.5) for k in (1, 3, 5)),
        ),
    ]


def late_ideas() -> list[Idea]:
    three = ("dense", "sentence", "lexical")
    rerank_grid = tuple(
        (1.5, 0.75, 0.0, 0, k, beta) for k in (3, 5, 10) for beta in (0.1, 0.25, 0.5, 1.0, 3.0)
    )
    taus, gammas = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8), (0.02, 0.05, 0.1, 0.2, 0.4)
    coverage_grid = ((0.0, 0.0), *((t, g) for t in taus for g in gammas))
    late_grid = ((0.0, 0.0), *((0.0, g) for g in gammas))
    out = []
    for unit, what in (
        ("sent", "section's pieces from its sentences"),
        ("sec", "section encoded whole"),
        ("best", "best sentence"),
    ):
        for variant, words in (
            ("content", ""),
            ("nostop", ", question stop words dropped"),
            ("idf", ", question pieces weighted by idf"),
        ):
            out.append(
                Idea(
                    f"late: + MaxSim ({what}{words})", signals=(*three, f"maxsim-{unit}-{variant}")
                )
            )
    out.append(
        Idea(
            "late: + MaxSim (section's pieces from its sentences), weights on hit@1 + hit@3 + MRR",
            signals=(*three, "maxsim-sent-content"),
            objective="hit1+hit3+mrr",
        )
    )
    for name in ("maxsim-sent-nostop", "maxsim-best-nostop", "maxsim-sent-content"):
        out.append(Idea(f"late: rerank top-k by fused + β·{name}", rerank=name, grid=rerank_grid))
    for variant in LATE_VARIANTS:
        out.append(
            Idea(
                f"late: refusal + γ·coverage-{variant}(τ) of the top section",
                refusal=f"coverage-{variant}",
                refusal_grid=coverage_grid,
            )
        )
    out.append(
        Idea(
            "late: refusal + γ·maxsim-sent-nostop of the top section",
            refusal="maxsim-sent-nostop",
            refusal_grid=late_grid,
        )
    )
    return out


def late_cost(corpora: list[Material], embedder: SentenceTransformerEmbedder) -> None:
    """Medians per question (its in-scope questions, one at a time): the sentence embedding
    the engine computes today, the question's token vectors (a second pass as measured here),
    and the MaxSim against the section pieces (sentence store); then each store's build."""
    print(
        "\n| corpus | embed (ms) | token vectors (ms) | MaxSim (ms) | pieces | float16 MB |"
        " token build (s) |\n|---|---|---|---|---|---|---|"
    )
    for m in corpora:
        stores = token_stores(m)
        embed, tokens, maxsim = [], [], []
        for q in m.queries["q"]:
            t0 = time.perf_counter()
            embedder.embed([q])
            t1 = time.perf_counter()
            pieces, vec = token_vectors(embedder, [q])[0]
            t2 = time.perf_counter()
            weights = piece_weights(m, pieces, "nostop")
            weighted_mean(by_section(unit_max(vec, stores["sent"]), stores["sent"]), weights)
            t3 = time.perf_counter()
            embed.append(t1 - t0)
            tokens.append(t2 - t1)
            maxsim.append(t3 - t2)
        seconds, pieces_n, nbytes = _BUILD[m.name]["sent"]
        print(
            f"| {m.name} | {1e3 * statistics.median(embed):.1f} |"
            f" {1e3 * statistics.median(tokens):.1f} | {1e3 * statistics.median(maxsim):.2f} |"
            f" {pieces_n} | {nbytes / 1e6:.1f} | {seconds:.1f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pool", type=Path)
    parser.add_argument("keep", type=Path)
    parser.add_argument("--only", nargs="*", default=None, help="idea names to run")
    parser.add_argument("--late-cost", action="store_true", help="time the token work")
    args = parser.parse_args()
    embedder = SentenceTransformerEmbedder("all-MiniLM-L6-v2")
    _TOKEN_MODEL["embedder"] = embedder
    corpora = [load(c, embedder, args.keep) for c in pool_corpora(args.pool)]
    if args.late_cost:
        late_cost(corpora, embedder)
        return
    header = "| idea | corpus | hit@1 | hit@3 | MRR | refusal | false refusal | own extra | fit |"
    print(header + "\n|" + "---|" * 9, flush=True)
    for idea in ideas() + late_ideas():
        if args.only and not any(re.search(o, idea.name) for o in args.only):
            continue
        rows = []
        for m in corpora:
            training = [o for o in corpora if o is not m]
            params, weights, auth, rule = fit(training, idea)
            r = metrics(m, idea, params, weights, auth, rule)
            rows.append(r)
            fitted = f"w={weights} p={params} q={rule}"
            extra = f"{r['extra']:.3f}" if "extra" in r else "–"
            print(
                f"| {idea.name} | {m.name} | {r['hit1']:.3f} | {r['hit3']:.3f} | {r['mrr']:.3f}"
                f" | {r['refusal']:.3f} | {r['fr']:.3f} | {extra}"
                f" | {fitted} |",
                flush=True,
            )
        avg = {k: np.mean([r[k] for r in rows]) for k in ("hit1", "hit3", "mrr", "refusal", "fr")}
        print(
            f"| **{idea.name}** | macro | {avg['hit1']:.3f} | {avg['hit3']:.3f} | "
            f"{avg['mrr']:.3f} | {avg['refusal']:.3f} | {avg['fr']:.3f} | | |",
            flush=True,
        )


if __name__ == "__main__":
    main()
