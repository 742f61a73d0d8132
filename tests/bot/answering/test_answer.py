"""Cited answers and refusals from the real index of the bundled sources."""

from __future__ import annotations

import re

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from bot.answering.answer import Answerer
from bot.answering.compose import ChatModelComposer, check_markers
from bot.answering.engine import Engine
from bot.errors import ComposerError
from bot.models import Status


def test_hkid_question_is_answered_from_the_personal_data_sections(engine: Engine) -> None:
    answer = engine.answerer.answer(
        "Can I paste a customer's HKID number into ChatGPT to draft a letter?"
    )
    assert answer.status is Status.ANSWERED
    assert answer.citations, "an answer must cite its sources"
    top = answer.citations[0]
    assert top.document.startswith("Harbourview Trading Limited")
    assert top.section.startswith("4. Information you may put into AI tools › ")
    assert top.version == "2.1"
    assert top.source == "https://example.com/policies/genai"
    assert answer.text.startswith("Some personal data is so sensitive"), (
        "the rule, then its example"
    )
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    assert markers and markers <= {c.n for c in answer.citations}
    for sentence in re.split(r" \[\d+\]", answer.text):
        if sentence.strip():
            assert any(sentence.strip()[:40] in c.text for c in answer.citations)


@pytest.mark.parametrize(
    "question",
    [
        "how many days of annual leave do I get?",
        "what's the weather tomorrow",
        "best dim sum nearby",
    ],
)
def test_out_of_scope_questions_are_refused_without_citations(
    engine: Engine, question: str
) -> None:
    answer = engine.answerer.answer(question)
    assert answer.status is Status.NOT_FOUND
    assert answer.citations == ()
    assert "support team" in answer.text
    data = answer.as_json()
    assert data["citations"] == [] and data["handoff"] == {"action": "ask_person"}
    assert len(data["nearest_topics"]) == 2


def test_citations_are_ranked_best_first(engine: Engine) -> None:
    answer = engine.answerer.answer("how fast must I report an AI incident and to whom?")
    scores = [c.score for c in answer.citations]
    assert scores == sorted(scores, reverse=True)
    assert [c.n for c in answer.citations] == list(range(1, len(scores) + 1))


def generative(engine: Engine, replies: list[str]) -> Answerer:
    model = FakeListChatModel(responses=replies)
    return Answerer(
        engine.index,
        threshold=engine.answerer.threshold,
        composer=ChatModelComposer(model, timeout_seconds=5),
    )


def test_generative_answer_citing_given_passages_is_used(engine: Engine) -> None:
    answerer = generative(engine, ["Do not enter HKID numbers into any AI tool [1]."])
    answer = answerer.answer("can I paste a customer's HKID into chatgpt")
    assert answer.composer == "chat_model"
    assert answer.text == "Do not enter HKID numbers into any AI tool [1]."


def test_generative_answer_citing_an_unseen_passage_is_rejected(engine: Engine) -> None:
    answerer = generative(engine, ["HKID numbers are fine to paste [9]."])
    answer = answerer.answer("can I paste a customer's HKID into chatgpt")
    assert answer.composer == "extractive"
    assert "[9]" not in answer.text and "fine to paste" not in answer.text
    assert answer.status is Status.ANSWERED and answer.citations


def test_generative_answer_without_markers_is_rejected() -> None:
    with pytest.raises(ComposerError, match="cites no passage"):
        check_markers("Sure, go ahead.", 3)
    with pytest.raises(ComposerError, match=r"\[4\]"):
        check_markers("Yes [1] and [4].", 3)
