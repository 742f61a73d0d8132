"""The documents list of the admin page: the source folders' files, the uploaded documents
of the database's store, and how many chunks of each the index holds.

Title, version and effective date come from each file (its front matter); the chunk count
comes from the live index, so a file added since the last ingest shows 0 chunks.
Loading a folder file is cached by path, size and modification time; an uploaded one by its
content hash. An upload stands in for the folder file of the same name.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bot.errors import DocumentError
from bot.store.documents import UPLOAD, DocumentStore
from knowledge.index import KnowledgeIndex
from knowledge.loaders import iter_source_files, load_document


@dataclass(frozen=True)
class DocumentRow:
    path: str
    title: str
    version: str | None
    effective: str | None
    kind: str | None
    chunks: int
    error: str | None = None
    origin: str = "folder"
    state: str = "published"
    uploaded_by: str | None = None


_Key = tuple[str, int, int]
_cache: dict[_Key, tuple[str, str | None, str | None, str | None, str | None]] = {}


def _describe(path: Path, root: Path) -> tuple[str, str | None, str | None, str | None, str | None]:
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _cache:
        try:
            document = load_document(path, root)
        except DocumentError as exc:
            _cache[key] = (path.name, None, None, None, str(exc))
        else:
            _cache[key] = (
                document.title,
                document.version,
                document.effective,
                document.kind,
                None,
            )
    return _cache[key]


def _describe_upload(
    documents: DocumentStore, name: str, digest: str
) -> tuple[str, str | None, str | None, str | None, str | None]:
    key = (f"upload:{name}:{digest}", 0, 0)
    if key not in _cache:
        with tempfile.TemporaryDirectory(prefix="policybot-describe-") as folder:
            path = Path(folder) / name
            path.write_bytes(documents.content(name))
            _cache[key] = _describe(path, Path(folder))
    return _cache[key]


def list_documents(
    sources: list[Path], index: KnowledgeIndex, documents: DocumentStore | None = None
) -> list[DocumentRow]:
    """Uploaded documents, then every supported file below the source folders that no
    upload stands in for, each with its chunk count in the index."""
    chunks = Counter(chunk.path for chunk in index.chunks())
    rows = []
    uploaded: set[str] = set()
    stored_documents = documents.documents() if documents is not None else []
    states = {stored.name: stored.state for stored in stored_documents}
    for stored in stored_documents:
        if stored.origin != UPLOAD or stored.latest is None:
            continue
        uploaded.add(stored.name)
        title, version, effective, kind, error = _describe_upload(
            documents,  # type: ignore[arg-type]
            stored.name,
            stored.latest.content_hash,
        )
        rows.append(
            DocumentRow(
                path=stored.name,
                title=title,
                version=version,
                effective=effective,
                kind=kind,
                chunks=chunks.get(stored.name, 0),
                error=error,
                origin=UPLOAD,
                state=stored.state,
                uploaded_by=stored.latest.uploaded_by,
            )
        )
    for root in sources:
        if not root.is_dir():
            continue
        for path in iter_source_files(root):
            relative = path.relative_to(root).as_posix()
            if relative in uploaded:
                continue
            title, version, effective, kind, error = _describe(path, root)
            rows.append(
                DocumentRow(
                    path=relative,
                    title=title,
                    version=version,
                    effective=effective,
                    kind=kind,
                    chunks=chunks.get(relative, 0),
                    error=error,
                    state=states.get(relative, "published"),
                )
            )
    return rows
