"""What an ingest changed, section by section: added, changed and removed sections with
their old and new text, and a short word-level diff of each.

Sections are compared by their text only (a version bump in the front matter re-cites every
section but changes none of them), keyed by the file they come from and their heading path.
A long section cut into parts is compared as a whole.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any

from knowledge.documents import Chunk

ADDED, CHANGED, REMOVED = "added", "changed", "removed"
DIFF_CONTEXT_WORDS = 4
MAX_DIFF_CHARS = 400


def in_force_at(recorded_at: datetime, effective: str | None, zone: tzinfo = UTC) -> datetime:
    """When a recorded change began to apply: when it was recorded, or the start of its
    ``effective`` date in the organisation's ``zone`` if that is later (a version stored
    ahead of its date takes over then, see ``Engine.switch_due``)."""
    if not effective:
        return recorded_at
    try:
        day = date.fromisoformat(effective[:10])
    except ValueError:
        return recorded_at
    return max(recorded_at, datetime.combine(day, time(), tzinfo=zone).astimezone(UTC))


@dataclass(frozen=True)
class SectionChange:
    """One section an ingest added, changed or removed.

    ``path`` names the file (the store's document name); ``document`` is its title.
    ``old_version`` and ``new_version`` are the document's versions on either side
    (declared, or the store's number); ``effective`` is the date the change applies from.
    """

    path: str
    document: str
    section: str
    change: str
    old_text: str | None
    new_text: str | None
    old_version: str | None = None
    new_version: str | None = None
    effective: str | None = None
    recorded_at: str | None = None

    @property
    def diff(self) -> str:
        return word_diff(self.old_text or "", self.new_text or "")

    def labelled(self, **fields: Any) -> SectionChange:
        return replace(self, **fields)

    def as_json(self) -> dict[str, Any]:
        data = {
            "document": self.document,
            "path": self.path,
            "section": self.section or self.document,
            "change": self.change,
            "old_version": self.old_version,
            "new_version": self.new_version,
            "effective": self.effective,
            "diff": self.diff,
        }
        if self.recorded_at is not None:
            data["recorded"] = self.recorded_at
        return data


@dataclass(frozen=True)
class StoredSection:
    """A section part as the previous index holds it."""

    chunk_id: str
    path: str
    document: str
    section: str
    version: str | None
    text: str


def word_diff(old: str, new: str) -> str:
    """The changed words with a few words of context: ``[-removed-] {+added+}``, ``…`` for
    what was left out; at most :data:`MAX_DIFF_CHARS` characters."""
    before, after = old.split(), new.split()
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    pieces: list[str] = []
    last_end = 0
    for group in matcher.get_grouped_opcodes(DIFF_CONTEXT_WORDS):
        if group[0][1] > last_end or (pieces and group[0][1] == last_end):
            pieces.append("…")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                pieces.append(" ".join(before[i1:i2]))
                continue
            if i2 > i1:
                pieces.append(f"[-{' '.join(before[i1:i2])}-]")
            if j2 > j1:
                pieces.append(f"{{+{' '.join(after[j1:j2])}+}}")
        last_end = group[-1][2]
    if pieces and last_end < len(before):
        pieces.append("…")
    text = " ".join(p for p in pieces if p)
    return text if len(text) <= MAX_DIFF_CHARS else text[: MAX_DIFF_CHARS - 1] + "…"


def section_changes(
    old: Iterable[StoredSection],
    new: Sequence[tuple[Chunk, str]],
    *,
    kept_paths: set[str] = frozenset(),  # type: ignore[assignment]
) -> list[SectionChange]:
    """Sections of ``new`` (chunk, file path) that differ from ``old``, in reading order,
    then the removed ones. Files in ``kept_paths`` (they failed to load this time, so their
    old sections stay in the index) count as unchanged."""
    order = {chunk.id: position for position, (chunk, _) in enumerate(new)}
    before: dict[tuple[str, str], list[StoredSection]] = {}
    for part in old:
        if part.path in kept_paths:
            continue
        before.setdefault((part.path, part.section), []).append(part)
    after: dict[tuple[str, str], list[Chunk]] = {}
    for chunk, path in new:
        after.setdefault((path, chunk.section), []).append(chunk)
    # A document's version on either side, for sections added to or removed from it.
    old_versions = {path: parts[0].version for (path, _), parts in before.items()}
    new_versions = {path: chunks[0].version for (path, _), chunks in after.items()}

    def old_text(parts: list[StoredSection]) -> str:
        parts = sorted(parts, key=lambda p: (order.get(p.chunk_id, len(order)), p.chunk_id))
        return "\n\n".join(p.text for p in parts)

    changes: list[SectionChange] = []
    for (path, section), chunks in after.items():
        text = "\n\n".join(c.text for c in chunks)
        parts = before.get((path, section))
        title, version = chunks[0].document, chunks[0].version
        if parts is None:
            changes.append(
                SectionChange(
                    path, title, section, ADDED, None, text, old_versions.get(path), version
                )
            )
        elif old_text(parts) != text:
            changes.append(
                SectionChange(
                    path, title, section, CHANGED, old_text(parts), text, parts[0].version, version
                )
            )
    for (path, section), parts in before.items():
        if (path, section) not in after:
            first = parts[0]
            changes.append(
                SectionChange(
                    path,
                    first.document,
                    section,
                    REMOVED,
                    old_text(parts),
                    None,
                    first.version,
                    new_versions.get(path),
                )
            )
    return changes


def stored_sections(records: Mapping[str, Any]) -> list[StoredSection]:
    """:class:`StoredSection` parts from a Chroma ``get`` of section records."""
    return [
        StoredSection(
            chunk_id=str(meta.get("chunk_id", rid)),
            path=str(meta.get("path", "")),
            document=str(meta.get("document", "")),
            section=str(meta.get("section") or ""),
            version=str(meta.get("version")) or None,
            text=str(text or ""),
        )
        for rid, text, meta in zip(
            records["ids"], records["documents"], records["metadatas"], strict=True
        )
    ]
