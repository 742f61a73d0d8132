"""Terms of a text, and their cache: composing an answer must not tokenize the index's
sentences again for every question (``bench/bench_answer_cpu.py`` measures the saving)."""

from __future__ import annotations

from bot.answering.compose import ExtractiveComposer
from knowledge.chunking import split_sentences
from knowledge.lexical import Speller, english_words, stem, term_set, tokenize
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


CORPUS = [
    "Apple devices: the option to store a password is turned off.",
    "Staff must report incidents to the support team.",
]


def test_the_speller_fixes_a_typo_of_a_corpus_word() -> None:
    speller = Speller(CORPUS)
    assert speller.normalise("where do I keep my pasword") == "where do I keep my password"
    assert speller.normalise("who do I reprot it to") == "who do I report it to"


def test_the_speller_leaves_real_english_words_alone_even_one_letter_from_the_corpus() -> None:
    speller = Speller(CORPUS)
    question = "Does this apply to the stuff I wrote in Notion? Am I covered?"
    # "apply" is one letter from "apple", "stuff" from "staff", "notion" from "option":
    # before the word list, each was "corrected" into the corpus word.
    assert speller.normalise(question) == question
    assert {"apply", "stuff", "notion", "report"} <= english_words()
    assert "pasword" not in english_words()
    # Without the word list the corpus word wins, which is the bug the list prevents.
    bare = Speller(CORPUS, known=frozenset())
    assert bare.normalise("does this apply to my stuff") == "does this apple to my staff"
