"""Chinese question sets with English twins: loading, and figures beside each other."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.answering.engine import Engine
from bot.answering.language_eval import (
    CHINESE_SETS,
    chinese_cases_for,
    load_twin_cases,
    twin_metrics,
)
from bot.errors import ConfigurationError


def write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", "utf-8")
    return path


def test_shipped_chinese_sets_have_a_twin_and_a_gold_or_out_on_every_line() -> None:
    sets = [CHINESE_SETS / "questions-zh.jsonl", *sorted((CHINESE_SETS / "pool-zh").glob("*"))]
    assert len(sets) >= 3
    for path in sets:
        cases = load_twin_cases(path)
        assert len(cases) >= 30, path
        assert {c.style for c in cases} == {"written", "cantonese"}, path
        assert sum(not c.gold for c in cases) >= 8, path


def test_an_ordinary_question_set_has_no_twins(tmp_path: Path) -> None:
    plain = write(tmp_path / "q.jsonl", [{"q": "can I use ChatGPT?", "gold": ["2.1"]}])
    assert load_twin_cases(plain) == []
    assert chinese_cases_for("bundled", plain)[0].english


def test_a_twin_line_without_gold_names_its_line(tmp_path: Path) -> None:
    bad = write(
        tmp_path / "zh.jsonl",
        [
            {"q": "聊天記錄會保留多久？", "en": "how long are chats kept?", "gold": ["5.3"]},
            {"q": "年假有幾多日？", "en": "how much leave?"},
        ],
    )
    with pytest.raises(ConfigurationError, match=r"zh\.jsonl:2"):
        load_twin_cases(bad)


def test_chinese_figures_sit_beside_the_english_twins(engine: Engine, tmp_path: Path) -> None:
    cases = load_twin_cases(
        write(
            tmp_path / "zh.jsonl",
            [
                {
                    "q": "聊天記錄會保留多久？",
                    "en": "how long are chat histories kept?",
                    "style": "written",
                    "gold": ["5.3 Retention of prompts and outputs"],
                },
                {
                    "q": "實習生可唔可以用AI工具？",
                    "en": "can interns use AI tools?",
                    "style": "cantonese",
                    "gold": ["10.2 which employees"],
                },
                {"q": "飯堂今日有咩食？", "en": "what is for lunch?", "kind": "out"},
            ],
        )
    )
    figures = twin_metrics(engine.answerer, cases)
    assert set(figures) == {"zh", "en", "zh_cantonese", "zh_written"}
    for key in ("zh", "en"):
        assert figures[key]["hit@3"] == 1.0  # type: ignore[index]
        assert figures[key]["refusal"] == 1.0  # type: ignore[index]
    assert figures["zh_written"]["in_scope"] == 1  # type: ignore[index]
