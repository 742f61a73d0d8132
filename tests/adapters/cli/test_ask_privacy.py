"""``policybot ask --json`` carries the privacy guard's finding types, never the values."""

from __future__ import annotations

import argparse
import io
import json

import pytest

from adapters.cli import ask
from bot.answering.engine import Engine
from bot.settings import Settings


def test_ask_json_lists_identifier_types_beside_the_answer(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asked: list[str] = []
    answer = engine.answerer.answer

    def spy(question: str):  # noqa: ANN202 - the answerer's signature
        asked.append(question)
        return answer(question)

    monkeypatch.setattr(ask, "ready_engine", lambda args, settings: engine)
    monkeypatch.setattr(engine.answerer, "answer", spy)
    lines = ["Can I put A123456(3) and 9123 4567 into ChatGPT?", "Can I use ChatGPT for emails?"]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    args = argparse.Namespace(question="-", json=True, index=None)

    assert ask.handle_ask(args, Settings(_env_file=None)) == 0

    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["question"] for row in rows] == lines  # the contract: the input line echoed
    assert rows[0]["privacy"] == [{"type": "HKID"}, {"type": "PHONE"}]
    assert set(rows[1]) == {"question", "status", "answer", "citations", "latency_ms"}
    assert asked == ["Can I put [HKID] and [PHONE] into ChatGPT?", lines[1]]
    assert "A123456" not in rows[0]["answer"]
