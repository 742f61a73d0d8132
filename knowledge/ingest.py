"""Ingestion: load sources, chunk them, embed what changed, build a new collection, switch.

Idempotent by content hash: an unchanged folder embeds nothing and writes nothing. When
something changed, unchanged chunks keep their stored vectors (copied, not re-embedded)
and only new or edited sections are embedded. The live collection is replaced only after
the new one is complete.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.errors import ConfigurationError, DocumentError
from knowledge.calibration import Calibration, calibration_digest, probe_sets
from knowledge.changes import SectionChange, section_changes, stored_sections
from knowledge.chunking import chunk_document
from knowledge.documents import SECTION_SEPARATOR, Chunk, Document
from knowledge.embedding import Embedder
from knowledge.index import (
    CALIBRATION_KEY,
    HEADING_SUFFIX,
    SECTION,
    SENTENCE,
    ProbeVectorCache,
    calibrate_collection,
    ranker_name,
    read_pointer,
    write_pointer,
)
from knowledge.loaders import iter_source_files, load_document
from knowledge.ranking import FusionWeights

COLLECTION_PREFIX = "policybot-v"
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class FileFailure:
    path: str
    error: str


@dataclass(frozen=True)
class LoadedFile:
    """A file this ingest read: its folder, its path below it, and what was understood."""

    root: Path
    path: str
    document: Document


# Given a file as read, the document to index in its place (an earlier version still in
# force, when the file's effective date is still to come), or None to leave it out for now.
Choose = Callable[[LoadedFile], Document | None]


def _as_read(loaded: LoadedFile) -> Document:
    return loaded.document


@dataclass
class IngestReport:
    """What an ingest did; ``as_json`` is the exact shape of ``ingest.py --json``."""

    documents: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    failed: list[FileFailure] = field(default_factory=list)
    seconds: float = 0.0
    embedded: int = 0
    collection: str | None = None
    calibrated: bool = False
    loaded: list[LoadedFile] = field(default_factory=list)
    # Sections added, changed or removed since the previous index; empty on a first build.
    changes: list[SectionChange] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def as_json(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "chunks": {
                "added": self.added,
                "updated": self.updated,
                "removed": self.removed,
                "unchanged": self.unchanged,
            },
            "failed": [{"path": f.path, "error": f.error} for f in self.failed],
            "seconds": round(self.seconds, 3),
            "changes": [change.as_json() for change in self.changes],
        }


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


def load_chunks(
    sources: Sequence[Path], report: IngestReport, progress: Progress, choose: Choose = _as_read
) -> tuple[list[tuple[Chunk, str]], set[str]]:
    """(chunk, file path) of every readable file; failures go into the report and the
    relative paths of the failed files are returned, so their old chunks can be kept.

    A path found under two folders is read from the first only (an uploaded document stands
    in for the folder file of the same name)."""
    for root in sources:
        if not root.is_dir():
            raise ConfigurationError(
                f"source folder {root} does not exist; pass --source with a folder of policy files"
            )
    files = [(root, path) for root in sources for path in iter_source_files(root)]
    chunks: list[tuple[Chunk, str]] = []
    failed_paths: set[str] = set()
    seen: set[str] = set()
    for done, (root, path) in enumerate(files, start=1):
        relative = path.relative_to(root).as_posix()
        if relative in seen:
            progress("load", done, len(files))
            continue
        seen.add(relative)
        try:
            document = load_document(path, root)
        except DocumentError as exc:
            report.failed.append(FileFailure(path=str(path), error=str(exc)))
            failed_paths.add(relative)
        else:
            report.documents += 1
            loaded = LoadedFile(root=root, path=relative, document=document)
            report.loaded.append(loaded)
            indexed = choose(loaded)
            if indexed is not None:
                chunks.extend((chunk, relative) for chunk in chunk_document(indexed))
        progress("load", done, len(files))
    return chunks, failed_paths


def ingest(
    client: Any,
    embedder: Embedder,
    sources: Sequence[Path],
    *,
    progress: Progress = _no_progress,
    weights: FusionWeights | None = None,
    choose: Choose = _as_read,
) -> IngestReport:
    """Bring the index in line with ``sources``; see the module docstring for the guarantees.

    ``choose`` picks what is indexed for each file read (by default the file itself); the
    engine uses it to keep a version in force until a new version's effective date.

    A new collection is calibrated (``knowledge.calibration``) before the pointer moves to
    it; an unchanged one is recalibrated only when its stored rule is missing or stale.
    """
    weights = weights or FusionWeights()
    started = time.perf_counter()
    report = IngestReport()
    loaded, failed_paths = load_chunks(sources, report, progress, choose)
    chunks = _unique(loaded)

    pointer = read_pointer(client)
    same_model = bool(
        pointer
        and pointer.get("model") == embedder.name
        and pointer.get("dimension") == embedder.dimension
    )
    old = client.get_collection(str(pointer["collection"])) if pointer and same_model else None
    old_hashes, old_paths, old_headings = _stored_hashes(old)

    kept_from_failed = {cid for cid, path in old_paths.items() if path in failed_paths}
    new_ids = {chunk.id for chunk, _ in chunks}
    to_embed = [(c, p) for c, p in chunks if old_hashes.get(c.id) != c.content_hash]
    unchanged = [c.id for c, _ in chunks if old_hashes.get(c.id) == c.content_hash]
    report.added = sum(1 for c, _ in to_embed if c.id not in old_hashes)
    report.updated = len(to_embed) - report.added
    report.removed = len(set(old_hashes) - new_ids - kept_from_failed)
    report.unchanged = len(unchanged)

    if pointer is not None and old is not None and not to_embed and not report.removed:
        report.collection = str(pointer["collection"])
        stored = Calibration.loads(str(pointer.get(CALIBRATION_KEY, "")))
        expected = calibration_digest(probe_sets(), old_headings, ranker_name(weights))
        if stored is None or stored.digest != expected:
            calibration = calibrate_collection(
                old, pointer, ProbeVectorCache(client, embedder), weights
            )
            write_pointer(client, {**pointer, CALIBRATION_KEY: calibration.dumps()})
            report.calibrated = True
        report.seconds = time.perf_counter() - started
        return report

    if old is not None:
        report.changes = _changes(old, chunks, failed_paths)

    name = f"{COLLECTION_PREFIX}{datetime.now(UTC):%Y%m%d%H%M%S}-{uuid.uuid4().hex[:8]}"
    collection = client.create_collection(
        name,
        metadata={"embedding_model": embedder.name, "dimension": embedder.dimension},
        configuration={"hnsw": {"space": "cosine"}},
        embedding_function=None,
    )
    try:
        if old is not None:
            _copy_records(old, collection, [*unchanged, *sorted(kept_from_failed)])
        report.embedded = _embed_into(collection, embedder, to_embed, progress)
    except BaseException:
        client.delete_collection(name)
        raise
    new_pointer: dict[str, Any] = {
        "collection": name,
        "model": embedder.name,
        "dimension": embedder.dimension,
        "built": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    try:
        calibration = calibrate_collection(
            collection, new_pointer, ProbeVectorCache(client, embedder), weights
        )
    except BaseException:
        client.delete_collection(name)
        raise
    write_pointer(client, {**new_pointer, CALIBRATION_KEY: calibration.dumps()})
    report.calibrated = True
    # The previous version stays until the next ingest: other processes may still be reading
    # it for the few seconds before they notice the new pointer.
    previous = str(pointer["collection"]) if pointer else name
    _drop_stale_collections(client, keep={name, previous})
    report.collection = name
    report.seconds = time.perf_counter() - started
    return report


def _changes(
    old: Any, chunks: Sequence[tuple[Chunk, str]], failed_paths: set[str]
) -> list[SectionChange]:
    records = old.get(where={"granularity": SECTION}, include=["documents", "metadatas"])
    return section_changes(stored_sections(records), chunks, kept_paths=failed_paths)


def _unique(chunks: Iterable[tuple[Chunk, str]]) -> list[tuple[Chunk, str]]:
    """The same file given under two source folders would repeat ids; keep the first."""
    seen: set[str] = set()
    unique = []
    for chunk, path in chunks:
        if chunk.id not in seen:
            seen.add(chunk.id)
            unique.append((chunk, path))
    return unique


def _stored_hashes(collection: Any) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """Content hash and file path by chunk id, and the section headings, of a collection."""
    if collection is None:
        return {}, {}, []
    records = collection.get(where={"granularity": SECTION}, include=["metadatas"])
    rows = list(zip(records["ids"], records["metadatas"], strict=True))
    hashes = {rid: str(meta["content_hash"]) for rid, meta in rows}
    paths = {rid: str(meta.get("path", "")) for rid, meta in rows}
    headings = [str(meta["section"] or meta["document"]) for _, meta in rows]
    return hashes, paths, headings


def _batches(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _copy_records(old: Any, new: Any, chunk_ids: Sequence[str]) -> None:
    for batch in _batches(list(chunk_ids), 200):
        for where in (
            {"$and": [{"granularity": SECTION}, {"chunk_id": {"$in": list(batch)}}]},
            {"$and": [{"granularity": SENTENCE}, {"chunk_id": {"$in": list(batch)}}]},
        ):
            records = old.get(where=where, include=["documents", "metadatas", "embeddings"])
            if records["ids"]:
                new.add(
                    ids=records["ids"],
                    documents=records["documents"],
                    metadatas=records["metadatas"],
                    embeddings=records["embeddings"],
                )


def _metadata(chunk: Chunk, path: str) -> dict[str, Any]:
    return {
        "granularity": SECTION,
        "chunk_id": chunk.id,
        "document": chunk.document,
        "section": chunk.section,
        "version": chunk.version or "",
        "source": chunk.source,
        "location": chunk.location or "",
        "kind": chunk.kind,
        "content_hash": chunk.content_hash,
        "path": path,
    }


def _embed_into(
    collection: Any, embedder: Embedder, chunks: Sequence[tuple[Chunk, str]], progress: Progress
) -> int:
    total = len(chunks)
    progress("embed", 0, total)
    for done, batch in enumerate(_batches(chunks, 32)):
        vectors = embedder.embed([chunk.embedding_text for chunk, _ in batch])
        collection.add(
            ids=[chunk.id for chunk, _ in batch],
            documents=[chunk.text for chunk, _ in batch],
            metadatas=[_metadata(chunk, path) for chunk, path in batch],
            embeddings=vectors.tolist(),
        )
        # Each sentence, and the section's own heading, is a record of its own: the best
        # single sentence is a strong signal for short, specific questions.
        sentences = [
            (chunk, f"{chunk.id}:s{i}", sentence)
            for chunk, _ in batch
            for i, sentence in enumerate(chunk.sentences)
        ] + [
            (chunk, f"{chunk.id}{HEADING_SUFFIX}", chunk.section.split(SECTION_SEPARATOR)[-1])
            for chunk, _ in batch
            if chunk.section
        ]
        if sentences:
            sentence_vectors = embedder.embed([s for _, _, s in sentences])
            collection.add(
                ids=[rid for _, rid, _ in sentences],
                documents=[s for _, _, s in sentences],
                metadatas=[
                    {
                        "granularity": SENTENCE,
                        "chunk_id": chunk.id,
                        "content_hash": chunk.content_hash,
                    }
                    for chunk, _, _ in sentences
                ],
                embeddings=sentence_vectors.tolist(),
            )
        progress("embed", min(total, (done + 1) * 32), total)
    return total


def _drop_stale_collections(client: Any, *, keep: set[str]) -> None:
    for collection in client.list_collections():
        name = collection if isinstance(collection, str) else collection.name
        if name.startswith(COLLECTION_PREFIX) and name not in keep:
            client.delete_collection(name)
