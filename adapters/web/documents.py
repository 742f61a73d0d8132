"""The documents list of the admin page: what is in the source folders and in the index.

Title, version and effective date come from each file (its front matter); the chunk count
comes from the live index, so a file added since the last ingest shows 0 chunks.
Loading a file is cached by path, size and modification time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bot.errors import DocumentError
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


def list_documents(sources: list[Path], index: KnowledgeIndex) -> list[DocumentRow]:
    """Every supported file below the source folders, with its chunk count in the index."""
    chunks = Counter(chunk.path for chunk in index.chunks())
    rows = []
    for root in sources:
        if not root.is_dir():
            continue
        for path in iter_source_files(root):
            relative = path.relative_to(root).as_posix()
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
                )
            )
    return rows
