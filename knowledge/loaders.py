"""Turn files into :class:`Document` objects: Markdown, plain text, HTML, PDF and DOCX.

Every loader keeps the heading structure, because a citation names the section. A file
that cannot be read raises :class:`DocumentError` with the reason; the caller reports it
and carries on with the other files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from html.parser import HTMLParser
from pathlib import Path

import yaml

from bot.errors import DocumentError
from knowledge.documents import Document, Section

SUPPORTED_SUFFIXES = {".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".docx"}
MAX_FILE_BYTES = 50 * 1024 * 1024

_ATX_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
# "4. Input of information", "4.3 Personal data", "Section 2 - Tools": a short line on its own.
_NUMBERED_HEADING = re.compile(r"^(\d+(?:\.\d+)*)\.?\s+([A-Z][^\n]{1,90})$")


# A line that starts a list item ("- ", "* ", "1. ", "(a) ", "[ ] ") or a table row ("| ").
_LINE_ITEM = re.compile(r"^(?:[-*+•]\s|\d{1,3}[.)]\s|\([a-z0-9]{1,4}\)\s|\[[ xX]\]\s|\|)")
_TABLE_RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?$")


def load_document(path: Path, root: Path) -> Document:
    """Load one file. ``root`` is the source folder; ``source`` is the path relative to it."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(f"unsupported file type {suffix or '(none)'}")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DocumentError(f"cannot read file: {exc.strerror}") from exc
    if size > MAX_FILE_BYTES:
        raise DocumentError(f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    if size == 0:
        raise DocumentError("file is empty")
    relative = path.relative_to(root).as_posix()
    loader = {
        ".md": _load_markdown,
        ".markdown": _load_markdown,
        ".txt": _load_text,
        ".html": _load_html,
        ".htm": _load_html,
        ".pdf": _load_pdf,
        ".docx": _load_docx,
    }[suffix]
    document = loader(path, relative)
    if not any(section.text.strip() for section in document.sections):
        raise DocumentError("no text could be extracted")
    return document


def iter_source_files(root: Path) -> Iterator[Path]:
    """Supported files below ``root``, sorted, hidden files and folders skipped."""
    for path in sorted(root.rglob("*")):
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        if path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES:
            yield path


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"not valid UTF-8 text (byte {exc.start})") from exc


def _split_front_matter(text: str) -> tuple[dict[str, str], str]:
    if not text.startswith("---"):
        return {}, text
    end = text.find("\n---", 3)
    if end == -1:
        raise DocumentError("front matter starts with '---' but is never closed")
    try:
        data = yaml.safe_load(text[3:end]) or {}
    except yaml.YAMLError as exc:
        raise DocumentError(f"front matter is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise DocumentError("front matter must be a mapping of keys to values")
    body = text[end + 4 :]
    return {str(k): str(v) for k, v in data.items() if v is not None}, body.lstrip("\n")


def _build_document(
    meta: dict[str, str],
    relative: str,
    headings: list[tuple[int, str, str, str | None]],
    *,
    top_heading_is_title: bool = False,
) -> Document:
    """``headings`` holds (level, heading, text, location); level 0 is text before any heading.

    With ``top_heading_is_title`` (Markdown, HTML), a single top-level heading that opens the
    document is its title, not a section; numbered plain-text headings are always sections.
    """
    levels = [level for level, _, _, _ in headings if level > 0]
    title = meta.get("title")
    first = next((h for h in headings if h[0] > 0), None)
    if (
        top_heading_is_title
        and first is not None
        and first[0] == min(levels)
        and levels.count(first[0]) == 1
    ):
        title = title or first[1]
        position = headings.index(first)
        headings = [*headings[:position], (0, "", first[2], first[3]), *headings[position + 1 :]]
    title = title or Path(relative).stem.replace("-", " ").replace("_", " ")
    stack: list[tuple[int, str]] = []
    sections: list[Section] = []
    for level, heading, text, location in headings:
        if level > 0:
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, heading))
        path = tuple(name for _, name in stack) if level > 0 else ()
        cleaned = _normalise_whitespace(text)
        if cleaned:
            sections.append(Section(path=path, text=cleaned, location=location))
    return Document(
        title=title.strip(),
        source=meta.get("source_url") or meta.get("source") or relative,
        sections=tuple(_merge_same_path(sections)),
        version=meta.get("version") or meta.get("date"),
        effective=meta.get("effective"),
        publisher=meta.get("publisher"),
        kind=meta.get("kind", "policy"),
        metadata=meta,
    )


def _merge_same_path(sections: Iterable[Section]) -> Iterator[Section]:
    """Text before the title heading and after it both belong to the document itself."""
    pending: Section | None = None
    for section in sections:
        if pending is not None and pending.path == section.path:
            pending = Section(pending.path, pending.text + "\n\n" + section.text, pending.location)
            continue
        if pending is not None:
            yield pending
        pending = section
    if pending is not None:
        yield pending


def _normalise_whitespace(text: str) -> str:
    """One line per paragraph, except that list items and table rows keep a line each, so
    that each can be retrieved and quoted as a unit of its own."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        lines: list[str] = []
        for line in block.splitlines():
            words = " ".join(line.split())
            if not words or _TABLE_RULE.match(words):
                continue
            if lines and not _LINE_ITEM.match(words):
                lines[-1] = f"{lines[-1]} {words}"
            else:
                lines.append(words)
        if lines:
            paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def _load_markdown(path: Path, relative: str) -> Document:
    meta, body = _split_front_matter(_read_text(path))
    headings: list[tuple[int, str, str, str | None]] = []
    lines: list[str] = []
    level, heading = 0, ""
    in_fence = False
    for line in body.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _ATX_HEADING.match(line)
        if match:
            headings.append((level, heading, "\n".join(lines), None))
            level, heading, lines = len(match.group(1)), match.group(2).strip(), []
        else:
            lines.append(line)
    headings.append((level, heading, "\n".join(lines), None))
    return _build_document(meta, relative, headings, top_heading_is_title=True)


def _sections_from_plain_lines(
    lines: Iterable[tuple[str, str | None]],
) -> list[tuple[int, str, str, str | None]]:
    """Numbered heading lines ("4.3 Personal data") start sections; depth = count of numbers."""
    headings: list[tuple[int, str, str, str | None]] = []
    body: list[str] = []
    level, heading, location = 0, "", None
    for line, line_location in lines:
        stripped = line.strip()
        match = _NUMBERED_HEADING.match(stripped)
        if match and not stripped.endswith((".", ",", ";", ":")):
            headings.append((level, heading, "\n".join(body), location))
            level = match.group(1).count(".") + 1
            heading, body, location = stripped, [], line_location
        else:
            body.append(line)
            if location is None:
                location = line_location
    headings.append((level, heading, "\n".join(body), location))
    return headings


def _load_text(path: Path, relative: str) -> Document:
    text = _read_text(path)
    meta, body = _split_front_matter(text)
    lines = [(line, None) for line in body.splitlines()]
    return _build_document(meta, relative, _sections_from_plain_lines(lines))


def _load_pdf(path: Path, relative: str) -> Document:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise DocumentError(f"not a readable PDF ({exc.__class__.__name__}: {exc})") from exc
    meta = {}
    if info is not None and info.title:
        meta["title"] = str(info.title)
    lines = [
        (line, f"p. {number}")
        for number, page in enumerate(pages, start=1)
        for line in page.splitlines()
    ]
    headings = _sections_from_plain_lines(lines)
    if "title" not in meta:
        first_line = next((line.strip() for line, _ in lines if line.strip()), "")
        if first_line and len(first_line) <= 120:
            meta["title"] = first_line
    return _build_document(meta, relative, headings)


def _load_docx(path: Path, relative: str) -> Document:
    import zipfile

    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DocumentError(f"not a readable Word document ({exc.__class__.__name__})") from exc
    meta: dict[str, str] = {}
    props = document.core_properties
    if props.title:
        meta["title"] = props.title
    if props.version:
        meta["version"] = props.version
    headings: list[tuple[int, str, str, str | None]] = []
    body: list[str] = []
    level, heading = 0, ""
    for paragraph in document.paragraphs:
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        text = paragraph.text.strip()
        if style == "Title" and text:
            meta.setdefault("title", text)
            continue
        match = re.fullmatch(r"Heading (\d)", style)
        if match and text:
            headings.append((level, heading, "\n\n".join(body), None))
            level, heading, body = int(match.group(1)), text, []
        elif text:
            body.append(text)
    headings.append((level, heading, "\n\n".join(body), None))
    for table in document.tables:
        rows = [" | ".join(cell.text.strip() for cell in row.cells) for row in table.rows]
        headings.append((0, "", "\n".join(rows), None))
    return _build_document(meta, relative, headings)


class _HTMLSections(HTMLParser):
    _BLOCKS = {"p", "li", "td", "th", "div", "br", "tr", "section", "article", "dd", "dt"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.meta: dict[str, str] = {}
        self.headings: list[tuple[int, str, str, str | None]] = []
        self._level, self._heading, self._body = 0, "", [""]
        self._skip = 0
        self._in_title = False
        self._heading_level: int | None = None
        self._heading_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style", "nav", "noscript"}:
            self._skip += 1
        elif tag == "title":
            self._in_title = True
        elif tag == "meta":
            attributes = dict(attrs)
            name, content = attributes.get("name"), attributes.get("content")
            if name and content:
                self.meta[name.lower()] = content
        elif re.fullmatch(r"h[1-6]", tag):
            self._heading_level, self._heading_text = int(tag[1]), []
        elif tag in self._BLOCKS:
            self._body.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "nav", "noscript"} and self._skip:
            self._skip -= 1
        elif tag == "title":
            self._in_title = False
        elif self._heading_level is not None and tag == f"h{self._heading_level}":
            self.headings.append((self._level, self._heading, "".join(self._body), None))
            self._level, self._body = self._heading_level, [""]
            self._heading = " ".join("".join(self._heading_text).split())
            self._heading_level = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._in_title:
            self.title += data
        elif self._heading_level is not None:
            self._heading_text.append(data)
        else:
            self._body.append(data)

    def finish(self) -> None:
        self.headings.append((self._level, self._heading, "".join(self._body), None))


def _load_html(path: Path, relative: str) -> Document:
    parser = _HTMLSections()
    parser.feed(_read_text(path))
    parser.close()
    parser.finish()
    meta = {k: v for k, v in parser.meta.items() if k in {"version", "effective", "kind"}}
    if parser.title.strip():
        meta["title"] = " ".join(parser.title.split())
    return _build_document(meta, relative, parser.headings, top_heading_is_title=True)
