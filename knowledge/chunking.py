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

from knowledge.documents import SECTION_SEPARATOR, Chunk, Document, Section

MAX_CHUNK_CHARS = 1500
# Bump when the way sections are cut into sentences changes: it is part of every chunk's
# content hash, so the next ingest re-embeds the sentences instead of keeping stale ones.
CHUNKER_VERSION = "4"
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


def split_sentences(text: str) -> tuple[str, ...]:
    """Sentences of a section; each line (a list item, a table row) is at least one.

    Short fragments are merged into the previous sentence of the same line, and so is a
    piece that follows an abbreviation such as "No." or "Cap.".
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


# A rule sentence: who it binds, the modal, and the verb phrase it allows or forbids.
_RULE = re.compile(
    r"\b(?:employees|staff|you|users|colleagues|workers|personnel|contractors|we|everyone|"
    r"officials|civil servants|teams?)\s+(?:may|must|should|can|shall|cannot|can't|mustn't|"
    r"need to|are(?: not)? (?:allowed|permitted|required|expected|encouraged) to)\s+"
    r"(?:not\s+|never\s+|only\s+|always\s+|also\s+)*(?P<rest>[^.;:!?]+)",
    re.IGNORECASE,
)
_IMPERATIVE = re.compile(
    r"^(?:do not|don't|never|always|avoid)\s+(?P<rest>[^.;:!?]+)", re.IGNORECASE
)
_ITEM = re.compile(r"^\s*(?:[-*\u2022+]|\d{1,2}[.)]|[a-z][.)])\s+(?:\[[ xX]\]\s*)?(?P<item>.+)")
_TABLE_RULE = re.compile(r"^\s*\|?[\s:|-]+\|?\s*$")
_QUESTION_WORDS = 14


_NUMBERING = re.compile(r"^[\s#*_]*(?:[A-Z]?\d+(?:\.\d+)*\.?|[A-Z]\.)\s+")
# "(a) ...; (b) ...; and (c) ..." inside one sentence: an enumeration written as prose.
_INLINE_ITEM = re.compile(r"[;,]?\s*(?:and |or )?\((?:[a-z]|[ivx]+|\d{1,2})\)\s+")


def _verb_phrase(rest: str) -> str:
    words = rest.strip(" ,*_").split()[:_QUESTION_WORDS]
    if any(word.endswith(",") for word in words[:2]):
        return ""
    phrase = " ".join(words).rstrip(",")
    return re.sub(r"\byour\b", "my", re.sub(r"\byou\b", "I", phrase))


def heading_question(heading: str) -> str:
    """The section's heading asked as a question (numbering dropped)."""
    return f"What does the policy say about {_NUMBERING.sub('', heading).strip(' *_#')}?"


def pseudo_questions(heading: str, sentences: tuple[str, ...]) -> tuple[str, ...]:
    """Question-like texts for a section, in the words employees ask with: one from the
    heading and "Can I ...?" from each rule sentence ("Staff must not paste ..." gives "Can
    I paste ...?"). Searched like sentences, never quoted."""
    found: list[str] = []
    for sentence in sentences:
        plain = _ITEM.sub(lambda m: m.group("item"), sentence).strip(" *_")
        match = _RULE.search(plain) or _IMPERATIVE.search(plain)
        if match:
            phrase = _verb_phrase(match.group("rest"))
            if len(phrase.split()) >= 2:
                found.append(f"Can I {phrase}?")
    return tuple(dict.fromkeys(found))


def lead_in_items(text: str) -> tuple[str, ...]:
    """Each list item, checklist line and table row with the sentence that introduces it in
    front ("When using AI tools you must not: enter client names"): alone, an item often
    lacks the words the question is asked with. Searched like sentences, never quoted."""
    units: list[str] = []
    lead = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or _TABLE_RULE.match(stripped) and "-" in stripped:
            continue
        item = _ITEM.match(stripped)
        if stripped.startswith("|"):
            body = " ".join(cell.strip() for cell in stripped.strip("|").split("|") if cell.strip())
        elif item:
            body = item.group("item").strip()
        else:
            sentences = split_sentences(stripped)
            for sentence in sentences:
                pieces = _INLINE_ITEM.split(sentence)
                if len(pieces) > 2:
                    units.extend(f"{pieces[0]} {piece}" for piece in pieces[1:] if piece)
            lead = (sentences or ("",))[-1]
            continue
        if lead and body:
            units.append(f"{lead} {body}")
    return tuple(dict.fromkeys(units))


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
            sentences=(sentences := split_sentences(text)),
            questions=pseudo_questions(section.label.split(SECTION_SEPARATOR)[-1], sentences),
            items=lead_in_items(text),
        )
