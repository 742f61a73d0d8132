"""Plain data for loaded documents and the chunks cut from them."""

from __future__ import annotations

from dataclasses import dataclass, field

SECTION_SEPARATOR = " › "


@dataclass(frozen=True)
class Section:
    """Text under one heading. ``path`` is the heading path below the document title;
    an empty path is the text before the first heading. ``location`` is e.g. ``"p. 3"``."""

    path: tuple[str, ...]
    text: str
    location: str | None = None

    @property
    def label(self) -> str:
        return SECTION_SEPARATOR.join(self.path)


@dataclass(frozen=True)
class Document:
    """A loaded source: metadata from front matter (or inferred) and its sections in order."""

    title: str
    source: str
    sections: tuple[Section, ...]
    version: str | None = None
    effective: str | None = None
    publisher: str | None = None
    kind: str = "policy"
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Chunk:
    """The unit of retrieval: one section (or one part of a long section).

    ``id`` depends only on where the chunk sits (source, section path, part), so an edited
    section keeps its id and counts as updated; ``content_hash`` covers everything that
    would change its embedding or its citation.
    """

    id: str
    content_hash: str
    document: str
    section: str
    version: str | None
    source: str
    text: str
    location: str | None
    kind: str
    sentences: tuple[str, ...]

    @property
    def embedding_text(self) -> str:
        """Heading path in front of the text: measured to retrieve better than text alone."""
        heading = self.section or self.document
        return f"{self.document}. {heading}.\n{self.text}"
