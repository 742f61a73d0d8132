"""The legal statements corrected in the bundled sources (issue 21) stay corrected.

The bot quotes the bundled sources verbatim, so a wrong statement there becomes a wrong
answer. The questions go through the real engine over the real index of the bundled
sources; where what matters is only that a sentence is gone or is marked as our reading,
the source files are read directly.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.answering.engine import Engine
from bot.answering.evaluation import matches
from bot.models import Answer, Status
from bot.settings import BUNDLED_SOURCES
from knowledge.loaders import iter_source_files, load_document

QUESTIONS = BUNDLED_SOURCES.parent / "eval" / "questions.jsonl"


def sections() -> dict[str, str]:
    """Every section of the bundled sources, by file name and heading path."""
    found = {}
    for path in iter_source_files(BUNDLED_SOURCES):
        document = load_document(path, BUNDLED_SOURCES)
        for section in document.sections:
            found[f"{path.name}: {section.label}"] = section.text
    return found


def section_text(file_name: str, heading: str) -> str:
    [text] = [
        text
        for label, text in sections().items()
        if label.startswith(f"{file_name}: ") and label.endswith(heading)
    ]
    return text


def sentences_of(answer: Answer) -> list[str]:
    return [s.strip() for s in re.split(r" \[\d+\]", answer.text) if s.strip()]


def test_age_is_not_stated_to_be_a_protected_ground(engine: Engine) -> None:
    answer = engine.answerer.answer("is age discrimination illegal in Hong Kong?")
    if answer.status is Status.NOT_FOUND:
        return
    assert answer.status is Status.ANSWERED
    assert any("Age and religion are not protected grounds" in s for s in sentences_of(answer))
    for sentence in sentences_of(answer):
        if re.search(r"\bage\b", sentence, re.IGNORECASE) and "law" in sentence.lower():
            assert "not protected" in sentence, sentence


def test_bias_section_names_the_grounds_the_ordinances_protect() -> None:
    text = section_text("example-genai-policy.md", "6.3 Biased or discriminatory output")
    for ground in ("sex", "marital status", "pregnancy", "breastfeeding", "disability"):
        assert ground in text
    assert "Age and religion are not protected grounds" in text
    assert "nationality is outside the race ordinance" in text
    assert "company policy, not law" in text
    assert "may breach the Equal Opportunities and Anti-Harassment Policy and Hong Kong" not in text


def test_doxxing_answer_limits_the_commissioners_own_prosecutions(engine: Engine) -> None:
    answer = engine.answerer.answer("Can the Privacy Commissioner prosecute doxxing cases itself?")
    assert answer.status is Status.ANSWERED
    assert "prosecute in its own name only offences tried summarily" in answer.text
    assert "section 64C" in answer.text
    assert "investigate and prosecute doxxing offences itself" not in answer.text


def test_access_request_answer_gives_the_written_notice_within_40_days(engine: Engine) -> None:
    answer = engine.answerer.answer(
        "What if we cannot answer a data access request within 40 days?"
    )
    assert answer.status is Status.ANSWERED
    [sentence] = [s for s in sentences_of(answer) if "in writing" in s]
    assert "40 days" in sentence and "reasons" in sentence


def test_pdpo_guide_states_section_19_2() -> None:
    text = section_text("pdpo-data-protection-principles.md", "DPP6 – Access to personal data")
    assert "section 19(2)" in text
    assert "inform the requestor in writing that it cannot and why" in text


def test_copyright_answer_gives_the_government_view_and_the_dispute(engine: Engine) -> None:
    answer = engine.answerer.answer("Is AI-generated content protected by copyright in Hong Kong?")
    assert answer.status is Status.ANSWERED
    [cited] = [
        c for c in answer.citations if c.section.endswith("8.1 Ownership of AI-assisted work")
    ]
    assert "computer-generated works" in cited.text
    assert "2024 consultation" in cited.text and "commentators dispute" in cited.text
    assert "the legal protection of material generated mainly by AI is uncertain" not in cited.text


def test_anonymisation_item_is_attributed_to_a_secondary_source() -> None:
    text = section_text(
        "pcpd-genai-checklist-guide.md", "Privacy in prompts: what information may go in"
    )
    assert "One law-firm summary of the checklist reports" in text
    assert "could not be confirmed in the PCPD's own text" in text
    assert "not covered by the sources behind this guide" not in text


@pytest.mark.parametrize(
    ("heading", "phrase"),
    [
        ("Governance step: setting an AI strategy", "leadership"),
        ("Governance step: a committee to oversee AI", "report to senior management"),
    ],
)
def test_our_reading_of_the_framework_is_marked_as_ours(heading: str, phrase: str) -> None:
    text = section_text("pcpd-model-framework-guide.md", heading)
    [sentence] = [s for s in re.split(r"(?<=\.)\s+", text) if phrase in s]
    assert sentence.startswith("In our reading, not the Framework's words")
    assert "at leadership level" not in text


def test_breach_guidance_is_said_to_be_updated_not_last_updated() -> None:
    text = Path(BUNDLED_SOURCES / "pcpd-model-framework-guide.md").read_text(encoding="utf-8")
    assert "updated in June 2023" in text
    assert "last updated in June 2023" not in text


def test_every_gold_label_still_names_a_bundled_section() -> None:
    """Corrections edit body text only, so the evaluation's gold labels keep matching."""
    labels = [label.split(": ", 1)[1] for label in sections()]
    for line in QUESTIONS.read_text(encoding="utf-8").splitlines():
        gold = json.loads(line).get("gold", [])
        for label in gold:
            assert any(matches(section, [label]) for section in labels), label
