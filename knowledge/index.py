"""The knowledge index: Chroma collections, the pointer to the live one, and hybrid search.

Each ingest that changes anything builds a new collection and then switches a pointer to
it, so a failed or interrupted ingest leaves the previous collection answering. The
pointer lives in Chroma itself (the metadata of one small collection), so it works the
same on disk (``PersistentClient``) and on a Chroma server (``HttpClient``); every process
re-reads it every few seconds and picks up a new version without a restart.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import NotFoundError

from bot.errors import ConfigurationError, KnowledgeIndexError
from knowledge.calibration import (
    DEFAULT_LANGUAGE,
    Calibration,
    DecisionRule,
    calibrate,
    calibration_digest,
    probe_sets,
)
from knowledge.crosslingual import QuestionReader, reading_signature
from knowledge.embedding import Embedder
from knowledge.lexical import LexicalIndex, Speller
from knowledge.ranking import FusionWeights, Signals, about_regulator, fuse

POINTER_COLLECTION = "policybot-active"
SECTION, SENTENCE = "section", "sentence"
POINTER_CHECK_SECONDS = 2.0
CALIBRATION_KEY = "calibration"
# Part of the calibration digest: a change to how scores are computed invalidates the rule.
RANKER_VERSION = "fused/2"
HEADING_SUFFIX = ":h"
# Collections of cached probe vectors, one per embedding model (never an index version).
PROBE_CACHE_PREFIX = "policybot-probe-vectors-"

log = logging.getLogger(__name__)


def make_client(*, index_dir: Path, chroma_url: str | None) -> Any:
    """A Chroma client with telemetry off: on disk by default, a server when a URL is set."""
    settings = ChromaSettings(anonymized_telemetry=False)
    if chroma_url:
        url = urlparse(chroma_url)
        if url.scheme not in {"http", "https"} or not url.hostname:
            raise ConfigurationError(
                f"POLICYBOT_CHROMA_URL={chroma_url!r} is not a URL like http://127.0.0.1:8000"
            )
        try:
            return chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=settings,
            )
        except Exception as exc:  # chromadb raises bare ValueError/ConnectionError variants
            raise ConfigurationError(
                f"cannot reach the Chroma server at {chroma_url} ({exc}); start it or fix "
                "POLICYBOT_CHROMA_URL"
            ) from exc
    index_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(index_dir / "chroma"), settings=settings)


class IndexUnavailable(KnowledgeIndexError):
    """Chroma could not be asked (an outage), as opposed to an index that does not exist."""


def _is_not_found(exc: Exception) -> bool:
    # chromadb raises NotFoundError, or ValueError("... does not exist") in older clients.
    return isinstance(exc, NotFoundError) or (
        isinstance(exc, ValueError) and "does not exist" in str(exc)
    )


def read_pointer(client: Any) -> dict[str, Any] | None:
    """Metadata of the live collection (name, model, dimension), or None before any ingest.

    Raises:
        IndexUnavailable: Chroma failed otherwise (down, timing out): not the same as empty.
    """
    try:
        collection = client.get_collection(POINTER_COLLECTION)
        metadata = dict(collection.metadata or {})
    except Exception as exc:
        if _is_not_found(exc):
            return None
        raise IndexUnavailable(
            f"cannot read the index pointer from Chroma ({exc.__class__.__name__}: {exc}); "
            "check that the Chroma server at POLICYBOT_CHROMA_URL is up"
        ) from exc
    return metadata if metadata.get("collection") else None


def write_pointer(client: Any, metadata: dict[str, Any]) -> None:
    collection = client.get_or_create_collection(POINTER_COLLECTION)
    collection.modify(metadata=metadata)


def none_if_empty(value: Any) -> Any:
    return None if value == "" else value


@dataclass(frozen=True)
class ChunkRecord:
    """A chunk as read back from the index (what a citation needs)."""

    id: str
    document: str
    section: str
    version: str | None
    source: str
    text: str
    location: str | None
    kind: str
    content_hash: str
    path: str


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and the parts it was fused from."""

    chunk: ChunkRecord
    score: float
    dense: float
    sentence: float
    lexical: float
    best_sentences: tuple[tuple[str, float], ...]


class _Snapshot:
    """Everything needed to search one collection version, loaded once per version."""

    def __init__(self, collection: Any, pointer: dict[str, Any]) -> None:
        self.collection = collection
        self.pointer = pointer
        records = collection.get(include=["documents", "metadatas", "embeddings"])
        self.chunks: list[ChunkRecord] = []
        section_vectors: list[Any] = []
        sentence_rows: list[tuple[str, str, Any, bool]] = []
        for rid, text, meta, vector in zip(
            records["ids"],
            records["documents"],
            records["metadatas"],
            records["embeddings"],
            strict=True,
        ):
            if meta.get("granularity") == SENTENCE:
                heading = rid.endswith(HEADING_SUFFIX)
                sentence_rows.append((str(meta["chunk_id"]), text, vector, heading))
                continue
            section_vectors.append(vector)
            self.chunks.append(
                ChunkRecord(
                    id=rid,
                    document=str(meta["document"]),
                    section=str(meta["section"]),
                    version=none_if_empty(meta.get("version", "")),
                    source=str(meta["source"]),
                    text=text,
                    location=none_if_empty(meta.get("location", "")),
                    kind=str(meta.get("kind", "policy")),
                    content_hash=str(meta["content_hash"]),
                    path=str(meta.get("path", "")),
                )
            )
        self.position = {chunk.id: i for i, chunk in enumerate(self.chunks)}
        # Headings are searched like sentences but never quoted as part of an answer.
        self.sentences = [(self.position[cid], text) for cid, text, _, _ in sentence_rows]
        self.quotable = np.array([not heading for *_, heading in sentence_rows], dtype=bool)
        self.sentence_owner = np.array([owner for owner, _ in self.sentences], dtype=np.int64)
        dimension = int(pointer.get("dimension", 1))
        self.section_vectors = _matrix(section_vectors, dimension)
        self.sentence_vectors = _matrix([vector for _, _, vector, _ in sentence_rows], dimension)
        texts = [f"{c.document} {c.section} {c.section} {c.text}" for c in self.chunks]
        self.lexical = LexicalIndex(texts)
        self.speller = Speller(texts)
        self.is_policy = np.array([c.kind != "guidance" for c in self.chunks], dtype=bool)
        self.headings = [c.section or c.document for c in self.chunks]
        self.calibrations: dict[str, Calibration] = {}


def check_model(pointer: dict[str, Any], name: str, dimension: int | None = None) -> None:
    """Refuse an index built with another embedding model than ``name`` (and, once the model
    is loaded, ``dimension``; ``None`` before: ``serve`` checks the name before loading it)."""
    model, built_dimension = pointer.get("model"), pointer.get("dimension")
    if model != name or (dimension is not None and built_dimension != dimension):
        configured = f"{name!r}" if dimension is None else f"{name!r} ({dimension})"
        raise KnowledgeIndexError(
            f"the index was built with embedding model {model!r} ({built_dimension} dimensions) "
            f"but {configured} is configured; "
            "run `policybot ingest` to rebuild the index or set POLICYBOT_EMBEDDING_MODEL back"
        )


def pointed_collection(client: Any, pointer: dict[str, Any]) -> Any:
    """The collection the pointer names, or a :class:`KnowledgeIndexError` saying how to
    rebuild it."""
    try:
        return client.get_collection(str(pointer["collection"]))
    except Exception as exc:  # the backend's not-found error differs per client
        raise KnowledgeIndexError(
            f"the index points to collection {pointer['collection']!r}, which is missing; "
            "run `policybot ingest` to rebuild it"
        ) from exc


class KnowledgeIndex:
    """Hybrid search over the live collection; safe to share between threads."""

    def __init__(
        self,
        client: Any,
        embedder: Embedder,
        *,
        weights: FusionWeights | None = None,
        reader: QuestionReader | None = None,
    ) -> None:
        self.client = client
        self.embedder = embedder
        self.weights = weights or FusionWeights()
        # Where a question enters retrieval: Chinese questions are read in English here.
        self.reader = reader or QuestionReader.for_languages(embedder.languages)
        self._snapshot: _Snapshot | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()
        self.outage: str | None = None

    @property
    def is_empty(self) -> bool:
        snapshot = self._current()
        return snapshot is None or not snapshot.chunks

    def chunks(self) -> list[ChunkRecord]:
        snapshot = self._current()
        return list(snapshot.chunks) if snapshot else []

    def version(self) -> str | None:
        snapshot = self._current()
        return str(snapshot.pointer["collection"]) if snapshot else None

    def calibration(self) -> Calibration | None:
        """The index's decision rules: as stored by ingest, or (for an index built before
        calibration, or searched with other weights) computed once in memory the same way."""
        snapshot = self._current()
        if snapshot is None or not snapshot.chunks:
            return None
        ranker = ranker_name(self.weights)
        cached = snapshot.calibrations.get(ranker)
        if cached is not None:
            return cached
        stored = Calibration.loads(str(snapshot.pointer.get(CALIBRATION_KEY, "")))
        expected = calibration_digest(probe_sets(), snapshot.headings, ranker)
        if stored is None or stored.digest != expected:
            probes = ProbeVectorCache(self.client, self.embedder)
            stored = calibrate_snapshot(snapshot, probes, self.weights, self.reader)
        snapshot.calibrations[ranker] = stored
        return stored

    def decision_rule(self, language: str = DEFAULT_LANGUAGE) -> DecisionRule | None:
        """The not-found rule for questions in ``language`` (None for an empty index)."""
        calibration = self.calibration()
        return calibration.rule_for(language) if calibration else None

    def refresh(self) -> None:
        """Re-read the pointer now (after an ingest in this process)."""
        self._checked_at = 0.0
        self._current()

    def _current(self) -> _Snapshot | None:
        now = time.monotonic()
        if self._snapshot is not None and now - self._checked_at < POINTER_CHECK_SECONDS:
            return self._snapshot
        with self._lock:
            try:
                pointer = read_pointer(self.client)
            except IndexUnavailable as exc:
                # Keep answering from the version already loaded; say so in /healthz.
                self.outage = str(exc)
                if self._snapshot is None:
                    raise
                self._checked_at = now
                return self._snapshot
            self.outage = None
            self._checked_at = now
            if pointer is None:
                self._snapshot = None
                return None
            if self._snapshot is None or self._snapshot.pointer != pointer:
                check_model(pointer, self.embedder.name, self.embedder.dimension)
                collection = pointed_collection(self.client, pointer)
                self._snapshot = _Snapshot(collection, pointer)
            return self._snapshot

    def search(self, question: str, *, limit: int = 5) -> list[Hit]:
        """Chunks ranked by fused score, best first (at most ``limit``)."""
        snapshot = self._current()
        if snapshot is None or not snapshot.chunks:
            return []
        [query], vector = read_questions(snapshot, self.embedder, self.reader, [question])
        sentence_sims = snapshot.sentence_vectors @ vector[0]
        signals = _signals(snapshot, [query], vector, sentence_sims[None, :])
        fused = fuse(signals, self.weights, snapshot.is_policy)[0]
        order = np.argsort(-fused)[:limit]
        hits = []
        for position in order:
            mask = np.nonzero((snapshot.sentence_owner == position) & snapshot.quotable)[0]
            ranked = sorted(
                ((snapshot.sentences[i][1], float(sentence_sims[i])) for i in mask),
                key=lambda pair: -pair[1],
            )
            hits.append(
                Hit(
                    chunk=snapshot.chunks[position],
                    score=float(fused[position]),
                    dense=float(signals.dense[0, position]),
                    sentence=float(signals.sentence[0, position]),
                    lexical=float(signals.lexical[0, position]),
                    best_sentences=tuple(ranked),
                )
            )
        return hits

    def signals(self, questions: list[str]) -> Signals:
        """Every signal of every question against every section, in one pass."""
        snapshot = self._current()
        if snapshot is None or not snapshot.chunks:
            raise KnowledgeIndexError("the index is empty; run `policybot ingest` first")
        return snapshot_signals(snapshot, self.embedder, questions, self.reader)

    def top_scores(self, questions: list[str]) -> np.ndarray:
        """The best fused score of each question (what the not-found rule is applied to)."""
        snapshot = self._current()
        if snapshot is None or not snapshot.chunks:
            return np.zeros(len(questions), dtype=np.float32)
        signals = snapshot_signals(snapshot, self.embedder, questions, self.reader)
        return fuse(signals, self.weights, snapshot.is_policy).max(axis=1)


class ProbeVectorCache(Embedder):
    """The embedder, remembering the vectors of calibration probes in a Chroma collection of
    their own (one per model), so a recalibration embeds only probes it has not seen before.

    The probes are the project's own questions and the index's headings, never employees'
    questions; records are keyed by a hash of the text and hold no text. The cache only saves
    time: when Chroma cannot serve it, the probes are embedded as before.
    """

    def __init__(self, client: Any, embedder: Embedder) -> None:
        self.inner = embedder
        self.name = embedder.name
        self.dimension = embedder.dimension
        self.languages = embedder.languages
        model = hashlib.sha256(f"{embedder.name}\x1f{embedder.dimension}".encode()).hexdigest()
        self._client = client
        self._collection_name = f"{PROBE_CACHE_PREFIX}{model[:16]}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return self.inner.embed(texts)
        keys = [hashlib.sha256(text.encode("utf-8")).hexdigest()[:32] for text in texts]
        try:
            collection = self._client.get_or_create_collection(
                self._collection_name,
                metadata={"embedding_model": self.name, "dimension": self.dimension},
                embedding_function=None,
            )
            found = collection.get(ids=sorted(set(keys)), include=["embeddings"])
            known = {
                key: np.asarray(vector, dtype=np.float32)
                for key, vector in zip(found["ids"], found["embeddings"], strict=True)
            }
        except Exception as exc:  # the cache is an optimisation; Chroma errors vary by client
            log.info("probe vector cache unavailable (%s); embedding the probes", exc)
            return self.inner.embed(texts)
        missing = sorted(
            {key: text for key, text in zip(keys, texts, strict=True) if key not in known}.items()
        )
        if missing:
            vectors = self.inner.embed([text for _, text in missing])
            known.update((key, vector) for (key, _), vector in zip(missing, vectors, strict=True))
            try:
                collection.upsert(
                    ids=[key for key, _ in missing], embeddings=[v.tolist() for v in vectors]
                )
            except Exception as exc:  # as above: a failed write only costs time next time
                log.info("probe vector cache not updated (%s)", exc)
        return np.vstack([known[key] for key in keys]).astype(np.float32)


def ranker_name(weights: FusionWeights) -> str:
    # The reading of Chinese questions (glossary, segmenter) is part of how they score.
    return (
        f"{RANKER_VERSION}:{weights.dense}:{weights.sentence}:{weights.lexical}:{weights.authority}"
        f":{reading_signature()}"
    )


def calibrate_snapshot(
    snapshot: _Snapshot,
    embedder: Embedder,
    weights: FusionWeights,
    reader: QuestionReader | None = None,
) -> Calibration:
    """Score the probe sets against this collection version and derive its decision rules."""

    def score(questions: list[str]) -> np.ndarray:
        signals = snapshot_signals(snapshot, embedder, questions, reader)
        return fuse(signals, weights, snapshot.is_policy).max(axis=1)

    return calibrate(score, snapshot.headings, ranker=ranker_name(weights))


def calibrate_collection(
    collection: Any, pointer: dict[str, Any], embedder: Embedder, weights: FusionWeights
) -> Calibration:
    """The calibration of a collection before the pointer moves to it (used by ingest)."""
    return calibrate_snapshot(_Snapshot(collection, pointer), embedder, weights)


def _matrix(vectors: list[Any], dimension: int) -> np.ndarray:
    if not vectors:
        return np.zeros((0, dimension), dtype=np.float32)
    return np.asarray(vectors, dtype=np.float32)


def snapshot_signals(
    snapshot: _Snapshot,
    embedder: Embedder,
    questions: list[str],
    reader: QuestionReader | None = None,
) -> Signals:
    reader = reader or QuestionReader.for_languages(embedder.languages)
    queries, vectors = read_questions(snapshot, embedder, reader, questions)
    return _signals(snapshot, queries, vectors, vectors @ snapshot.sentence_vectors.T)


def read_questions(
    snapshot: _Snapshot, embedder: Embedder, reader: QuestionReader, questions: list[str]
) -> tuple[list[str], np.ndarray]:
    """The text each question is searched with (English: Chinese questions are read through
    :mod:`knowledge.crosslingual`, shorthand spelled out) and the vectors to compare."""
    readings = [reader.read(q) for q in questions]
    queries = [snapshot.speller.normalise(r.lexical) for r in readings]
    embedded = [
        query if r.dense == r.lexical else r.dense
        for query, r in zip(queries, readings, strict=True)
    ]
    return queries, embedder.embed(embedded)


def _signals(
    snapshot: _Snapshot, queries: list[str], vectors: np.ndarray, sentence_sims: np.ndarray
) -> Signals:
    """Section similarity, best sentence per section, and BM25, for normalised queries."""
    dense = vectors @ snapshot.section_vectors.T
    best_sentence = np.full_like(dense, -1.0)
    if sentence_sims.shape[1]:
        for row in range(len(queries)):
            np.maximum.at(best_sentence[row], snapshot.sentence_owner, sentence_sims[row])
    best_sentence = np.maximum(best_sentence, dense.min(axis=1, keepdims=True))
    lexical = np.vstack([snapshot.lexical.scores(q) for q in queries])
    return Signals(
        dense=dense,
        sentence=best_sentence,
        lexical=lexical,
        about_regulator=about_regulator(queries),
    )
