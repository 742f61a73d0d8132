"""The README's quick start is what CI runs: a drift between them would let CI pass on a
command nobody follows."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def quick_start() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", readme, re.S)
    assert block, "the README must open with a bash block of two commands"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_starts_with_two_commands_in_a_virtual_environment() -> None:
    serve, test = quick_start()
    for command in (serve, test):
        assert command.startswith("python3 -m venv .venv && ")
        assert "-c constraints.txt" in command
    assert serve.endswith("policybot serve")
    assert test.endswith("python -m pytest")


def test_ci_runs_the_readmes_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci[-1] == quick_start()[1]


def test_constraints_pin_torch_to_the_cpu_release() -> None:
    pins = (REPO / "constraints.txt").read_text(encoding="utf-8").splitlines()
    assert "torch==2.13.0" in pins
    assert not [line for line in pins if line.startswith("nvidia-")]
