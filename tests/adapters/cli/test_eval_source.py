"""`policybot eval --source DIR`: any organisation's policy folder, measured in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.corpus import write_corpus

ROOT = Path(__file__).resolve().parents[3]


def test_eval_source_ingests_into_its_own_index_and_prints_a_row(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path)
    env = {**os.environ, "POLICYBOT_DATA_DIR": str(tmp_path / "data")}
    env.pop("POLICYBOT_ANSWER_THRESHOLD", None)
    index = tmp_path / "eval-index"
    command = [sys.executable, "-m", "adapters.cli", "eval", "--source", str(corpus), "--json"]
    result = subprocess.run(
        [*command, "--index", str(index)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    row = json.loads(result.stdout)
    assert row["corpus"] == "lantern-works" and row["questions"] == 8
    assert row["rule"]["origin"] == "calibrated"
    assert {"hit@1", "hit@3", "mrr", "refusal", "false_refusal", "p95_ms"} <= set(row)
    # The configured index was not touched: the corpus has an index of its own.
    assert (index / "lantern-works").is_dir() and not (tmp_path / "data" / "index").exists()

    usage = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "eval", "--source", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert usage.returncode == 2 and "not a folder" in usage.stderr
