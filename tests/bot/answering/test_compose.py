"""The extractive answer quotes whole list items and table rows with their lead-in."""

from __future__ import annotations

from bot.answering.compose import ExtractiveComposer, as_item_text, quotable
from knowledge.index import ChunkRecord, Hit

SECTION = (
    "Keep customer data out of prompts.\n\n"
    "You must never enter the following into an AI tool:\n"
    "- customer account numbers\n"
    "- staff home addresses\n\n"
    "| Label | AI use |\n| Public | Allowed |\n| Secret | Not allowed |"
)


def hit(best: tuple[tuple[str, float], ...], text: str = SECTION) -> Hit:
    chunk = ChunkRecord(
        id="c1",
        document="Rules",
        section="2. Data",
        version=None,
        source="rules.md",
        text=text,
        location=None,
        kind="policy",
        content_hash="h",
        path="rules.md",
    )
    return Hit(chunk=chunk, score=0.9, dense=0.5, sentence=0.6, lexical=0.4, best_sentences=best)


def test_a_list_item_is_quoted_with_its_lead_in() -> None:
    assert quotable("- staff home addresses", SECTION) == (
        "You must never enter the following into an AI tool: staff home addresses"
    )


def test_a_lead_in_is_quoted_with_its_first_item() -> None:
    assert quotable("You must never enter the following into an AI tool:", SECTION) == (
        "You must never enter the following into an AI tool: customer account numbers"
    )


def test_a_table_row_is_quoted_whole_and_readable() -> None:
    assert as_item_text("| Secret | Not allowed |") == "Secret – Not allowed"
    assert quotable("| Secret | Not allowed |", SECTION) == "Label: Secret; AI use: Not allowed"


def test_the_best_sentence_comes_first_with_its_marker() -> None:
    composition = ExtractiveComposer().compose(
        "can I put a customer's account number into the chatbot",
        [hit((("- customer account numbers", 0.7), ("Keep customer data out of prompts.", 0.5)))],
    )
    assert composition.text.startswith(
        "You must never enter the following into an AI tool: customer account numbers. [1]"
    )


INLINE = (
    "Some personal data must never be entered into any AI tool without written approval. "
    "This includes: Hong Kong identity card numbers; passport numbers; medical records. "
    "Ask the Data Protection Officer first."
)


def test_a_list_split_off_by_a_colon_is_quoted_with_its_lead_in_and_what_it_points_to() -> None:
    item = "Hong Kong identity card numbers; passport numbers; medical records."
    assert quotable(item, INLINE) == (
        "Some personal data must never be entered into any AI tool without written approval. "
        "This includes: Hong Kong identity card numbers; passport numbers; medical records."
    )


def test_an_inline_lead_in_is_quoted_with_what_it_introduces() -> None:
    text = "Approved tools are listed here: Copilot and HV Assist. Nothing else is approved."
    assert quotable("Approved tools are listed here:", text) == (
        "Approved tools are listed here: Copilot and HV Assist."
    )
    assert quotable("Nothing else is approved.", text) == "Nothing else is approved."


RULE = "Never enter a customer's identity card number into any AI tool."
EXAMPLE = "For example, do not paste it into a chatbot to draft a letter; add it yourself."


def test_the_rule_is_quoted_before_its_example_even_when_the_example_ranks_higher() -> None:
    composition = ExtractiveComposer().compose(
        "can I paste a customer's identity card number into a chatbot",
        [hit(((EXAMPLE, 0.8), (RULE, 0.6)), text=f"{RULE} {EXAMPLE}")],
    )
    assert composition.text == f"{RULE} [1] {EXAMPLE} [1]"


def test_an_example_alone_is_still_quoted() -> None:
    composition = ExtractiveComposer().compose(
        "can I paste a customer's identity card number into a chatbot",
        [hit(((EXAMPLE, 0.8),), text=EXAMPLE)],
    )
    assert composition.text == f"{EXAMPLE} [1]"
