"""Whole answers to fixed questions, compared with a reviewed file.

Each question's answer text, status and citations (document, section, version, source) are
kept in ``snapshots/answers.json``; a change to retrieval, chunking or composing shows up
as a diff of that file, to be read and accepted in review like code. Scores and latencies
are left out: they move with every tweak without changing what an employee reads.

After an intended change, regenerate the file and review the diff:

    POLICYBOT_UPDATE_SNAPSHOTS=1 python -m pytest tests/bot/answering/test_answer_snapshots.py
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

from bot.answering.engine import Engine
from bot.assistant import Assistant

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots" / "answers.json"
UPDATE = os.environ.get("POLICYBOT_UPDATE_SNAPSHOTS") == "1"

QUESTIONS = (
    "Can I paste a customer's HKID number into ChatGPT to draft a letter?",
    "does this apply to contractors?",
    "how do I report an AI incident and what should I do straight after",
    "may I enter personal data into AI tools",
    "how long are copilot chats kept",
    "can I use AI to write code that goes into production?",
    "which AI tools are we allowed to use?",
    "do I have to tell customers when content is AI-generated?",
    "who do I ask if I am unsure whether a use of AI is allowed?",
    "what does the PCPD say about collecting only the personal data we need?",
    "my mobile is 9123 4567, may I give it to a chatbot?",
    "how many days of annual leave do I get?",
    "best dim sum nearby",
)


def snapshot(question: str, answer_json: dict[str, Any]) -> dict[str, Any]:
    """What a reviewer reads: the question as asked, the answer, where each citation points
    (and what the privacy guard removed, what a refusal offers instead)."""
    kept: dict[str, Any] = {
        "question": question,
        "status": answer_json["status"],
        "answer": answer_json["answer"],
        "citations": [
            {key: c[key] for key in ("n", "document", "section", "version", "source")}
            for c in answer_json["citations"]
        ],
    }
    for key in ("privacy", "nearest_topics"):
        if key in answer_json:
            kept[key] = answer_json[key]
    return kept


@pytest.fixture(scope="module")
def answers(engine: Engine) -> list[dict[str, Any]]:
    assistant = Assistant(engine.answerer)

    async def ask_all() -> list[dict[str, Any]]:
        return [snapshot(q, (await assistant.ask(q)).as_json()) for q in QUESTIONS]

    return asyncio.run(ask_all())


def test_answers_match_the_reviewed_snapshot(answers: list[dict[str, Any]]) -> None:
    if UPDATE:
        SNAPSHOTS.parent.mkdir(exist_ok=True)
        text = json.dumps(answers, ensure_ascii=False, indent=2) + "\n"
        SNAPSHOTS.write_text(text, encoding="utf-8")
    stored = json.loads(SNAPSHOTS.read_text(encoding="utf-8"))
    assert [s["question"] for s in stored] == list(QUESTIONS), (
        "the questions changed: regenerate with POLICYBOT_UPDATE_SNAPSHOTS=1"
    )
    for expected, actual in zip(stored, answers, strict=True):
        assert actual == expected, (
            f"the answer to {expected['question']!r} changed; if that is intended, "
            "regenerate with POLICYBOT_UPDATE_SNAPSHOTS=1 and review the diff"
        )


def test_the_snapshot_covers_answers_refusals_and_the_privacy_guard() -> None:
    stored = json.loads(SNAPSHOTS.read_text(encoding="utf-8"))
    statuses = {s["status"] for s in stored}
    assert statuses == {"answered", "not_found"}
    assert any(s.get("privacy") for s in stored)
    assert all(s["citations"] for s in stored if s["status"] == "answered")
