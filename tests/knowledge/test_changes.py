"""Section changes between two ingests: compared by text per file and heading path, a
version bump alone changes nothing, and a file that failed to load this time keeps its
sections."""

from __future__ import annotations

from knowledge.changes import ADDED, CHANGED, REMOVED, StoredSection, section_changes, word_diff
from knowledge.chunking import chunk_document
from knowledge.documents import Document, Section


def document(version: str, sections: dict[str, str], source: str = "p.md") -> Document:
    return Document(
        title="P",
        source=source,
        version=version,
        sections=tuple(Section(path=(label,), text=text) for label, text in sections.items()),
    )


def stored(doc: Document, path: str = "p.md") -> list[StoredSection]:
    return [
        StoredSection(c.id, path, c.document, c.section, c.version, c.text)
        for c in chunk_document(doc)
    ]


def test_one_edited_section_is_one_change_whatever_the_version_says() -> None:
    before = document("1", {"A": "Alpha rule.", "B": "Beta rule.", "C": "Gamma rule."})
    after = document("2", {"A": "Alpha rule.", "B": "Beta rule, amended.", "D": "Delta."})
    changes = section_changes(stored(before), [(c, "p.md") for c in chunk_document(after)])
    assert [(c.section, c.change) for c in changes] == [
        ("B", CHANGED),
        ("D", ADDED),
        ("C", REMOVED),
    ]
    changed = changes[0]
    assert (changed.old_version, changed.new_version) == ("1", "2")
    assert changed.diff == "Beta [-rule.-] {+rule, amended.+}"
    assert (changes[1].old_version, changes[2].new_version) == ("1", "2")

    bumped = document("3", {"A": "Alpha rule.", "B": "Beta rule.", "C": "Gamma rule."})
    assert section_changes(stored(before), [(c, "p.md") for c in chunk_document(bumped)]) == []


def test_a_file_that_failed_to_load_keeps_its_sections() -> None:
    before = document("1", {"A": "Alpha rule."})
    assert section_changes(stored(before), [], kept_paths={"p.md"}) == []
    [removed] = section_changes(stored(before), [])
    assert removed.change == REMOVED and removed.old_text == "Alpha rule."


def test_the_word_diff_keeps_a_little_context_and_a_bounded_length() -> None:
    old = " ".join(f"w{i}" for i in range(40))
    new = old.replace("w20", "changed")
    assert word_diff(old, new) == "… w16 w17 w18 w19 [-w20-] {+changed+} w21 w22 w23 w24 …"
    assert len(word_diff("", "word " * 500)) <= 400
