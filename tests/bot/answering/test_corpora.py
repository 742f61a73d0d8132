"""Evaluation across policies: a corpus the test writes, measured in an index of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.answering.corpora import (
    BUNDLED_NAME,
    bundled_corpus,
    corpus_from_folder,
    evaluate_corpus,
    macro_average,
    pool_corpora,
)
from bot.answering.evaluation import matches
from bot.errors import ConfigurationError
from bot.settings import Settings
from knowledge.embedding import Embedder
from tests.corpus import QUESTIONS, write_corpus


def test_gold_is_a_case_insensitive_part_of_the_section_path() -> None:
    assert matches("Guardrails › G-DH-01: Classified data", ["g-dh-01"])
    assert matches("4. Input › 4.3 Personal data", ["4.3 Personal data"])
    assert not matches("4. Input › 4.3 Personal data", ["5.1"])
    # Text before the first heading is named by the document's title.
    assert matches("", ["Lantern Works"], document="Lantern Works: using AI assistants")
    assert not matches("", [""], document="Lantern Works")


def test_a_pool_folder_lists_its_corpora_after_the_bundled_one(tmp_path: Path) -> None:
    write_corpus(tmp_path, name="b-policy")
    write_corpus(tmp_path, name="a-policy")
    (tmp_path / "notes").mkdir()
    names = [c.name for c in pool_corpora(tmp_path)]
    assert names == [BUNDLED_NAME, "a-policy", "b-policy"]
    assert bundled_corpus().questions.is_file()
    a = corpus_from_folder(tmp_path / "a-policy")
    assert a.sources == (tmp_path / "a-policy" / "corpus",)


def test_a_folder_without_questions_says_what_to_add(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="questions.jsonl"):
        corpus_from_folder(tmp_path)
    with pytest.raises(ConfigurationError, match="not a folder"):
        pool_corpora(tmp_path / "missing")


def test_a_corpus_is_measured_with_the_rule_calibrated_on_its_own_index(
    tmp_path: Path, embedder: Embedder
) -> None:
    corpus = corpus_from_folder(write_corpus(tmp_path))
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)
    row = evaluate_corpus(corpus, settings, embedder=embedder, index_dir=tmp_path / "index")
    inside = sum("gold" in q for q in QUESTIONS)
    assert row["corpus"] == "lantern-works"
    assert (row["in_scope"], row["out_of_scope"]) == (inside, len(QUESTIONS) - inside)
    assert row["hit@3"] >= 5 / 6 and row["refusal"] == 1.0
    assert row["rule"]["origin"] == "calibrated" and row["rule"]["language"] == "en"

    macro = macro_average([row, {**row, "hit@1": 0.0, "p95_ms": 1.0}])
    assert macro["corpora"] == 2 and macro["hit@1"] == round(row["hit@1"] / 2, 4)
