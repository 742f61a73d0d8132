"""Terms of a text, and their cache: composing an answer must not tokenize the index's
sentences again for every question (``bench/bench_answer_cpu.py`` measures the saving)."""

from __future__ import annotations

from bot.answering.compose import ExtractiveComposer
from knowledge.chunking import split_sentences
from knowledge.lexical import stem, term_set, tokenize
from tests.bot.answering.test_compose import hit

TEXTS = [
    "Staff must not paste customers' HKID numbers into any AI tools.",
    "Storing prompts: the tools we approve keep nothing.",
    "",
    "What is the policy about it?",
]


def test_term_set_is_the_distinct_terms_of_tokenize() -> None:
    for text in TEXTS:
        assert term_set(text) == frozenset(tokenize(text))
    assert "tool" in term_set(TEXTS[0]) and "the" not in term_set(TEXTS[1])
    assert stem("storing") == "stor" and stem("tools") == "tool"


def test_a_second_answer_over_the_same_sections_reuses_their_terms() -> None:
    best = (("- customer account numbers", 0.7), ("Keep customer data out of prompts.", 0.5))
    composer = ExtractiveComposer()
    first = composer.compose("may I paste account numbers into a chatbot", [hit(best)])
    before = term_set.cache_info()
    splits = split_sentences.cache_info()

    second = composer.compose("are customer details allowed in prompts", [hit(best)])

    after = term_set.cache_info()
    assert first.text and second.text
    assert after.misses == before.misses  # no sentence tokenized again
    assert after.hits >= before.hits + len(best)
    assert split_sentences.cache_info().misses == splits.misses
