import pytest

from knowledge.chunking import chunk_document, split_sentences
from knowledge.documents import Document, Section


def doc(*sections: Section, version: str = "1") -> Document:
    return Document(title="T", source="t.md", sections=sections, version=version)


def test_one_chunk_per_section_with_path_and_version() -> None:
    chunks = chunk_document(
        doc(Section(("4. Input",), "Lead."), Section(("4. Input", "4.3 Personal data"), "No HKID."))
    )
    assert [c.section for c in chunks] == ["4. Input", "4. Input › 4.3 Personal data"]
    assert all(c.version == "1" and c.document == "T" for c in chunks)
    assert chunks[1].embedding_text.startswith("T. 4. Input › 4.3 Personal data.")


def test_ids_depend_on_location_and_hashes_on_content() -> None:
    before = chunk_document(doc(Section(("A",), "one"), Section(("B",), "two")))
    after = chunk_document(doc(Section(("A",), "one"), Section(("B",), "two, edited")))
    assert [c.id for c in before] == [c.id for c in after]
    assert before[0].content_hash == after[0].content_hash
    assert before[1].content_hash != after[1].content_hash


def test_version_change_changes_every_hash() -> None:
    v1 = chunk_document(doc(Section(("A",), "one"), version="1"))
    v2 = chunk_document(doc(Section(("A",), "one"), version="2"))
    assert v1[0].id == v2[0].id and v1[0].content_hash != v2[0].content_hash


def test_long_section_splits_into_parts_that_keep_the_section() -> None:
    text = "\n\n".join(f"Paragraph {i} " + "word " * 60 for i in range(12))
    chunks = chunk_document(
        doc(Section(("Long",), text), Section(("Next",), "short")), max_chars=800
    )
    long_parts = [c for c in chunks if c.section == "Long"]
    assert len(long_parts) > 1
    assert all(len(c.text) <= 800 for c in long_parts)
    assert len({c.id for c in chunks}) == len(chunks)
    assert chunks[-1].section == "Next" and chunks[-1].text == "short"


def test_repeated_heading_paths_get_distinct_ids() -> None:
    chunks = chunk_document(doc(Section(("Notes",), "first"), Section(("Notes",), "second")))
    assert chunks[0].id != chunks[1].id


def test_split_sentences_keeps_numbers_and_merges_fragments() -> None:
    sentences = split_sentences("Keep prompts 30 days. See s. 4.3 too. OK. Report within 2 hours!")
    assert sentences == ("Keep prompts 30 days.", "See s. 4.3 too. OK.", "Report within 2 hours!")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Offices close when Typhoon Signal No. 8 is hoisted. Staff then work from home.",
            (
                "Offices close when Typhoon Signal No. 8 is hoisted.",
                "Staff then work from home.",
            ),
        ),
        (
            "Use an approved tool, e.g. Copilot, for drafts. Never paste identity card numbers.",
            (
                "Use an approved tool, e.g. Copilot, for drafts.",
                "Never paste identity card numbers.",
            ),
        ),
        (
            "Transfers are limited under s. 33 of Cap. 486 once in force. Check before sending.",
            (
                "Transfers are limited under s. 33 of Cap. 486 once in force.",
                "Check before sending.",
            ),
        ),
    ],
)
def test_split_sentences_knows_abbreviations_and_numbering(
    text: str, expected: tuple[str, ...]
) -> None:
    assert split_sentences(text) == expected


def test_list_items_and_table_rows_are_sentences_of_their_own() -> None:
    text = (
        "Never put these into a prompt:\n- customer account numbers\n- staff home addresses\n\n"
        "| Label | Use with AI |\n| Public | Allowed |\n| Secret | Not allowed |"
    )
    assert split_sentences(text) == (
        "Never put these into a prompt:",
        "- customer account numbers",
        "- staff home addresses",
        "| Label | Use with AI |",
        "| Public | Allowed |",
        "| Secret | Not allowed |",
    )
