"""The knowledge index: Chroma collections, the pointer to the live one, and hybrid search.

Each ingest that changes anything builds a new collection and then switches a pointer to
it, so a failed or interrupted ingest leaves the previous collection answering. The
pointer lives in Chroma itself (the metadata of one small collection), so it works the
same on disk (``PersistentClient``) and on a Chroma server (``HttpClient``); every process
re-reads it every few seconds and picks up a new version without a restart.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import NotFoundError

from bot.errors import ConfigurationError, KnowledgeIndexError
from knowledge.embedding import Embedder
from knowledge.lexical import LexicalIndex, Speller

POINTER_COLLECTION = "policybot-active"
SECTION, SENTENCE = "section", "sentence"
POINTER_CHECK_SECONDS = 2.0
HEADING_SUFFIX = ":h"
# Questions that name the regulator or the law are about the guidance; the rest are about
# what the employee may do, where the organisation's own policy is the authority.
_REGULATOR_TERMS = re.compile(
    r"\b(pcpd|commissioner|checklist|framework|dpp\d?|pdpo|ordinance|cap\.? ?486|laws?|legal|"
    r"illegal|offen[cs]es?|fines?|penalt\w*|jail|prison\w*|regulator|watchdog|hong kong|hk)\b",
    re.IGNORECASE,
)


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


@dataclass(frozen=True)
class FusionWeights:
    """Weights of the fused score; calibrated with ``policybot eval`` (see README)."""

    dense: float = 0.45
    sentence: float = 0.20
    lexical: float = 0.40
    authority: float = 0.08


class _Snapshot:
    """Everything needed to search one collection version, loaded once per version."""

    def __init__(self, collection: Any, pointer: dict[str, Any]) -> None:
        self.collection = collection
        self.pointer = pointer
        records = collection.get(include=["documents", "metadatas", "embeddings"])
        self.chunks: list[ChunkRecord] = []
        sentence_rows: list[tuple[str, str, Any, bool]] = []
        section_vectors: list[Any] = []
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
        self.section_vectors = np.asarray(section_vectors, dtype=np.float32)
        # Headings are searched like sentences but never quoted as part of an answer.
        self.sentences = [(self.position[cid], text) for cid, text, _, _ in sentence_rows]
        self.quotable = np.array([not heading for *_, heading in sentence_rows], dtype=bool)
        self.sentence_owner = np.array([owner for owner, _ in self.sentences], dtype=np.int64)
        dimension = int(pointer.get("dimension", 1))
        self.sentence_vectors = (
            np.asarray([vector for _, _, vector, _ in sentence_rows], dtype=np.float32)
            if sentence_rows
            else np.zeros((0, dimension), dtype=np.float32)
        )
        texts = [f"{c.document} {c.section} {c.section} {c.text}" for c in self.chunks]
        self.lexical = LexicalIndex(texts)
        self.speller = Speller(texts)
        self.is_policy = np.array([c.kind != "guidance" for c in self.chunks], dtype=bool)

    def nearest_sections(self, vector: np.ndarray, n: int) -> tuple[list[str], list[float]]:
        """The ``n`` sections nearest ``vector`` (ids, cosine similarities), from Chroma;
        during a Chroma outage, from this snapshot's own copy of the section vectors."""
        try:
            result = self.collection.query(
                query_embeddings=[vector.tolist()],
                n_results=n,
                where={"granularity": SECTION},
                include=["distances"],
            )
            return list(result["ids"][0]), [1.0 - float(d) for d in result["distances"][0]]
        except Exception:  # any backend failure: the loaded copy answers the same question
            if not len(self.section_vectors):
                raise
        norms = np.linalg.norm(self.section_vectors, axis=1) * (np.linalg.norm(vector) or 1.0)
        similarities = (self.section_vectors @ vector) / np.where(norms == 0, 1.0, norms)
        order = np.argsort(-similarities)[:n]
        return [self.chunks[i].id for i in order], [float(similarities[i]) for i in order]


class KnowledgeIndex:
    """Hybrid search over the live collection; safe to share between threads."""

    def __init__(
        self, client: Any, embedder: Embedder, *, weights: FusionWeights | None = None
    ) -> None:
        self.client = client
        self.embedder = embedder
        self.weights = weights or FusionWeights()
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
                self._check_model(pointer)
                try:
                    collection = self.client.get_collection(str(pointer["collection"]))
                except Exception as exc:  # the backend's not-found error differs per client
                    raise KnowledgeIndexError(
                        f"the index points to collection {pointer['collection']!r}, which is "
                        "missing; run `policybot ingest` to rebuild it"
                    ) from exc
                self._snapshot = _Snapshot(collection, pointer)
            return self._snapshot

    def _check_model(self, pointer: dict[str, Any]) -> None:
        model, dimension = pointer.get("model"), pointer.get("dimension")
        if model != self.embedder.name or dimension != self.embedder.dimension:
            raise KnowledgeIndexError(
                f"the index was built with embedding model {model!r} ({dimension} dimensions) "
                f"but {self.embedder.name!r} ({self.embedder.dimension}) is configured; "
                "run `policybot ingest` to rebuild the index or set POLICYBOT_EMBEDDING_MODEL back"
            )

    def search(self, question: str, *, limit: int = 5, candidates: int = 30) -> list[Hit]:
        """Chunks ranked by fused score, best first (at most ``limit``)."""
        snapshot = self._current()
        if snapshot is None or not snapshot.chunks:
            return []
        query = snapshot.speller.normalise(question)
        vector = self.embedder.embed([query])[0]
        return self._rank(snapshot, query, vector, limit=limit, candidates=candidates)

    def _rank(
        self,
        snapshot: _Snapshot,
        question: str,
        vector: np.ndarray,
        *,
        limit: int,
        candidates: int,
    ) -> list[Hit]:
        count = len(snapshot.chunks)
        ids, similarities = snapshot.nearest_sections(vector, min(candidates, count))
        dense = np.zeros(count, dtype=np.float32)
        floor = min(similarities) if similarities else 0.0
        dense[:] = floor
        for cid, similarity in zip(ids, similarities, strict=True):
            dense[snapshot.position[cid]] = similarity

        sentence_sims = snapshot.sentence_vectors @ vector
        best_sentence = np.full(count, floor, dtype=np.float32)
        if len(sentence_sims):
            np.maximum.at(best_sentence, snapshot.sentence_owner, sentence_sims)
        lexical = snapshot.lexical.scores(question)

        w = self.weights
        fused = w.dense * dense + w.sentence * best_sentence + w.lexical * lexical
        about_regulator = bool(_REGULATOR_TERMS.search(question))
        fused += w.authority * (snapshot.is_policy != about_regulator)
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
                    dense=float(dense[position]),
                    sentence=float(best_sentence[position]),
                    lexical=float(lexical[position]),
                    best_sentences=tuple(ranked),
                )
            )
        return hits
