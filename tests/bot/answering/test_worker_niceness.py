"""Answer worker processes run at the configured scheduling niceness (POLICYBOT_ANSWER_NICENESS),
read back from the kernel's view of each worker."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.answering.workers import WORKER_NICENESS, ProcessAnswerPool, Zygote
from bot.settings import Settings
from tests.bot.answering.test_workers import echo


def niceness(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[16])  # field 19 of stat(5), counted after the command name


@pytest.mark.parametrize("configured", [0, 5, WORKER_NICENESS])
async def test_workers_run_at_the_configured_niceness(configured: int) -> None:
    pool = ProcessAnswerPool(
        Zygote(echo, threads=1, niceness=configured), processes=2, queue_limit=10
    )
    await pool.start()
    try:
        workers = pool.ready_pids
        assert len(workers) == 2
        ours = os.nice(0)
        assert [niceness(pid) for pid in workers] == [ours + configured] * 2
        assert niceness(os.getpid()) == ours
    finally:
        await pool.close()


def test_the_setting_defaults_to_ten_and_rejects_what_the_kernel_would_not_take() -> None:
    assert Settings(_env_file=None).answer_niceness == WORKER_NICENESS == 10
    assert Settings(_env_file=None, answer_niceness=0).answer_niceness == 0
    with pytest.raises(ValueError):
        Settings(_env_file=None, answer_niceness=20)
    with pytest.raises(ValueError):
        Settings(_env_file=None, answer_niceness=-1)
