"""Chinese questions answered from the English sources through the real engine."""

from __future__ import annotations

import re

import pytest

from bot.answering.engine import Engine
from bot.models import Status
from bot.replies import answer_reply


def test_cantonese_question_is_answered_from_the_hkid_section(engine: Engine) -> None:
    answer = engine.answerer.answer("可唔可以將客人嘅身份證號碼擺入ChatGPT度？")
    assert answer.status is Status.ANSWERED
    assert answer.language == "zh"
    top = answer.citations[0]
    assert top.section.endswith("4.3 Identity numbers, health data and other sensitive data")
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    assert markers and markers <= {c.n for c in answer.citations}


def test_written_chinese_question_is_answered_from_the_right_section(engine: Engine) -> None:
    answer = engine.answerer.answer("發生資料外洩事故後應該立即做甚麼？")
    assert answer.status is Status.ANSWERED
    sections = [c.section for c in answer.citations]
    assert any(s.endswith("11.3 What to do straight after an incident") for s in sections[:3])


def test_chinese_answer_quotes_the_english_policy_after_one_traditional_chinese_line(
    engine: Engine,
) -> None:
    answer = engine.answerer.answer("聊天記錄會保留多久？")
    note, _, quoted = answer.text.partition("\n\n")
    heading = answer.citations[0].section.split(" › ")[-1]
    assert note == f"政策原文是英文，以下引述英文條文；回答你問題的是「{heading}」一節 [1]。"
    assert "30 days" in quoted or "90 days" in quoted
    reply = answer_reply(answer)
    assert reply.text == answer.text and reply.language == "zh"
    data = answer.as_json()
    assert data["language"] == "zh" and data["citations"]


def test_english_answer_has_no_chinese_line(engine: Engine) -> None:
    answer = engine.answerer.answer("how long are chat histories kept?")
    assert answer.language == "en"
    assert not re.search(r"[\u4e00-\u9fff]", answer.text)


@pytest.mark.parametrize(
    "question",
    ["今年有幾多日年假？", "飯堂今日有咩食？", "推薦一本好看的小說"],
)
def test_chinese_off_topic_questions_are_refused_in_chinese(engine: Engine, question: str) -> None:
    answer = engine.answerer.answer(question)
    assert answer.status is Status.NOT_FOUND
    assert answer.citations == ()
    assert "找不到" in answer.text and "支援團隊" in answer.text
    assert answer.as_json()["handoff"] == {"action": "ask_person"}
