"""Every process that builds an engine (serve, chat, ask, eval) runs torch with the configured
number of intra-op threads, not only the server: two threads per question on a busy machine
multiplied one answer's wall time (``bench/bench_answer_latency.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# In a child process: torch's thread count is process-wide, and the test run's own must not
# change. The embedder is a stand-in, so no model is loaded.
PROBE = """
import sys
from pathlib import Path
from bot.answering.engine import build_engine
from bot.settings import Settings
from knowledge.embedding import Embedder
import numpy as np
import torch

class Nothing(Embedder):
    name = "nothing"
    dimension = 4
    def embed(self, texts):
        return np.zeros((len(texts), 4), dtype=np.float32)

before = torch.get_num_threads()
build_engine(Settings(data_dir=Path(sys.argv[1]), _env_file=None), embedder=Nothing())
print(before, torch.get_num_threads())
"""


def threads_after_build(tmp_path: Path, setting: str) -> tuple[int, int]:
    env = {**os.environ, "POLICYBOT_TORCH_THREADS": setting}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    before, after = out.stdout.split()[-2:]
    return int(before), int(after)


@pytest.mark.parametrize("setting", ["1", "3"])
def test_building_an_engine_applies_the_thread_setting(tmp_path: Path, setting: str) -> None:
    _, after = threads_after_build(tmp_path, setting)
    assert after == int(setting)


def test_zero_leaves_torch_default(tmp_path: Path) -> None:
    before, after = threads_after_build(tmp_path, "0")
    assert after == before
