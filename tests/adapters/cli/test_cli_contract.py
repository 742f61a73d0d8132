"""The command-line contract other tools rely on: exact JSON shapes, stdout/stderr, exit codes.

These run the real commands in subprocesses, as an admin's script or CI would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def run(
    args: list[str],
    data_dir: Path,
    *,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "POLICYBOT_DATA_DIR": str(data_dir), **(env or {})}
    return subprocess.run(
        args, input=stdin, capture_output=True, text=True, cwd=ROOT, env=full_env, timeout=300
    )


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("cli-data")
    result = run([sys.executable, "ingest.py", "--json"], data_dir)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    # The keys of the contract keep their names, types and meaning; new keys may be added.
    assert {"documents", "chunks", "failed", "seconds"} <= set(report)
    assert report["changes"] == [], "a first build records no section changes"
    assert set(report["chunks"]) == {"added", "updated", "removed", "unchanged"}
    assert report["documents"] == 4 and report["failed"] == []
    return data_dir / "index"


def test_ask_reads_stdin_and_answers_every_line_in_order(index_dir: Path, tmp_path: Path) -> None:
    questions = [
        "can i paste a customer's HKID into chatgpt?",
        "",
        "what's the weather",
        "who is on the AI support team",
    ]
    result = run(
        [sys.executable, "-m", "adapters.cli", "ask", "--index", str(index_dir), "--json", "-"],
        tmp_path,
        stdin="\n".join(questions) + "\n",
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["question"] for r in rows] == [q for q in questions if q]
    for row in rows:
        assert {"question", "status", "answer", "citations", "latency_ms"} <= set(row)
        assert isinstance(row["latency_ms"], float | int)
    assert rows[0]["status"] == "answered"
    assert set(rows[0]["citations"][0]) == {
        "n",
        "document",
        "section",
        "version",
        "source",
        "text",
        "score",
    }
    assert rows[1]["status"] == "not_found" and rows[1]["citations"] == []


def test_ingest_exit_codes(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "ok.md").write_text("# Ok Policy\n\n## 1. Tools\nOnly approved tools.\n", "utf-8")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    partial = run(
        [
            sys.executable,
            "ingest.py",
            "--source",
            str(folder),
            "--index",
            str(tmp_path / "i"),
            "--json",
        ],
        tmp_path,
    )
    assert partial.returncode == 1
    report = json.loads(partial.stdout)
    assert report["documents"] == 1
    assert report["failed"][0]["path"].endswith("broken.pdf") and report["failed"][0]["error"]

    missing = run(
        [sys.executable, "ingest.py", "--source", str(tmp_path / "none"), "--json"], tmp_path
    )
    assert missing.returncode == 2
    assert missing.stdout == ""
    assert "does not exist" in missing.stderr

    usage = run([sys.executable, "ingest.py", "--bogus"], tmp_path)
    assert usage.returncode == 2


def test_eval_prints_the_metrics(index_dir: Path, tmp_path: Path) -> None:
    cases = tmp_path / "q.jsonl"
    cases.write_text(
        json.dumps(
            {
                "q": "how long are copilot chats kept",
                "gold": ["5.3 Retention of prompts and outputs"],
            }
        )
        + "\n"
        + json.dumps({"q": "when is the staff party", "kind": "out"})
        + "\n",
        "utf-8",
    )
    result = run(
        [
            sys.executable,
            "-m",
            "adapters.cli",
            "eval",
            str(cases),
            "--index",
            str(index_dir),
            "--json",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["hit@1"] == 1.0 and metrics["refusal"] == 1.0 and metrics["false_refusal"] == 0.0
    assert {"hit@3", "mrr", "p50_ms", "p95_ms"} <= set(metrics)


def test_eval_rejects_a_malformed_line(tmp_path: Path) -> None:
    cases = tmp_path / "q.jsonl"
    cases.write_text('{"q": "fine", "kind": "out"}\nnot json\n', "utf-8")
    result = run([sys.executable, "-m", "adapters.cli", "eval", str(cases)], tmp_path)
    assert result.returncode == 2
    assert "q.jsonl:2" in result.stderr


def test_ask_answers_what_changed_from_the_recorded_changes(tmp_path: Path) -> None:
    """`ask` answers as the chat and the servers do: "what changed?" from the changes the
    last ingest recorded; with no database it still answers from the index, and says why."""
    sources = tmp_path / "sources"
    shutil.copytree(ROOT / "knowledge" / "sources", sources)
    data_dir = tmp_path / "data"
    env = {"POLICYBOT_SOURCES": str(sources)}
    assert run([sys.executable, "ingest.py"], data_dir, env=env).returncode == 0
    policy = sources / "example-genai-policy.md"
    text = policy.read_text(encoding="utf-8")
    edited = text.replace("you must not paste a customer's HKID number", "you must never paste a customer's HKID number", 1)  # fmt: skip
    assert edited != text
    policy.write_text(edited, encoding="utf-8")
    assert run([sys.executable, "ingest.py"], data_dir, env=env).returncode == 0

    ask = [sys.executable, "-m", "adapters.cli", "ask", "--json", "what changed in the AI policy?"]
    result = run(ask, data_dir, env=env)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["status"] == "answered"
    assert [c["section"].rsplit(" › ", 1)[-1] for c in answer["citations"]] == [
        "4.3 Identity numbers, health data and other sensitive data"
    ]
    assert "“For example, you must never paste a customer's HKID number" in answer["answer"]

    offline = {**env, "POLICYBOT_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/none"}
    result = run(ask, data_dir, env=offline)
    assert result.returncode == 0, result.stderr
    assert "answering without policy updates" in result.stderr
    assert json.loads(result.stdout)["status"] in {"answered", "not_found"}
