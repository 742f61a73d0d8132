"""Heading-aware chunking: one chunk per section, never spanning two sections.

Measured on sample policies, a section with its heading path in front is a far better unit
than fixed-size windows (see DESIGN.md). A section longer than ``max_chars`` is cut at
paragraph boundaries into parts that keep the same section path.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache

from knowledge.documents import Chunk, Document, Section

MAX_CHUNK_CHARS = 1500
# Bump when the way sections are cut into sentences changes: it is part of every chunk's
# content hash, so the next ingest re-embeds the sentences instead of keeping stale ones.
CHUNKER_VERSION = "2"
# A sentence ends at . ! ? ; : before a capital or digit, but not after a lone letter ("s. 4",
# "e.g.") or an abbreviation that is followed by a number or a name ("No. 3", "Cap. 486").
_SENTENCE_END = re.compile(r"(?<=[.!?;:])(?<!\b[A-Za-z]\.)\s+(?=[\"'(\[]?[A-Z0-9])")
_ABBREVIATION = re.compile(
    r"\b(?:no|nos|nr|mr|mrs|ms|dr|prof|st|cap|ch|para|paras|art|arts|sec|sect|ss|pp|vol|fig|"
    r"ref|vs|cf|approx|incl|dept|co|ltd|corp|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)"
    r"\.$",
    re.IGNORECASE,
)
_MIN_SENTENCE_CHARS = 12


@lru_cache(maxsize=4096)
def split_sentences(text: str) -> tuple[str, ...]:
    """Sentences of a section; each line (a list item, a table row) is at least one.

    Short fragments are merged into the previous sentence of the same line, and so is a
    piece that follows an abbreviation such as "No." or "Cap.". Cached: quoting an answer
    splits the same lines of the same sections for question after question.
    """
    sentences: list[str] = []
    for line in text.splitlines():
        pieces: list[str] = []
        for piece in _SENTENCE_END.split(line.strip()):
            piece = piece.strip()
            if not piece:
                continue
            if pieces and (len(piece) < _MIN_SENTENCE_CHARS or _ABBREVIATION.search(pieces[-1])):
                pieces[-1] = f"{pieces[-1]} {piece}"
            else:
                pieces.append(piece)
        if sentences and pieces and len(pieces[0]) < _MIN_SENTENCE_CHARS:
            sentences[-1] = f"{sentences[-1]} {pieces.pop(0)}"
        sentences.extend(pieces)
    return tuple(sentences)


def _parts(text: str, max_chars: int) -> Iterator[str]:
    current = ""
    for paragraph in text.split("\n\n"):
        if current and len(current) + len(paragraph) + 2 > max_chars:
            yield current
            current = paragraph
        else:
            current = f"{current}\n\n{paragraph}" if current else paragraph
    if current:
        yield current


def _digest(*fields: str | None) -> str:
    joined = "\x1f".join(field or "" for field in fields)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


def chunk_document(document: Document, *, max_chars: int = MAX_CHUNK_CHARS) -> list[Chunk]:
    """Chunks of one document in reading order; ids are stable across re-ingests."""
    chunks: list[Chunk] = []
    seen: Counter[tuple[str, ...]] = Counter()
    for section in document.sections:
        occurrence = seen[section.path]
        seen[section.path] += 1
        chunks.extend(_chunk_section(document, section, occurrence, max_chars))
    return chunks


def _chunk_section(
    document: Document, section: Section, occurrence: int, max_chars: int
) -> Iterator[Chunk]:
    for part, text in enumerate(_parts(section.text, max_chars)):
        key = _digest(document.source, section.label, str(occurrence), str(part))[:24]
        yield Chunk(
            id=key,
            content_hash=_digest(
                CHUNKER_VERSION,
                document.title,
                section.label,
                document.version,
                document.source,
                text,
                section.location,
                document.kind,
            ),
            document=document.title,
            section=section.label,
            version=document.version,
            source=document.source,
            text=text,
            location=section.location,
            kind=document.kind,
            sentences=split_sentences(text),
        )
