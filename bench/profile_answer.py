"""Where an answer's CPU goes: one question alone, and a burst, today's way and the new way.

Run: ``python bench/profile_answer.py [--burst 64]``. In one process over the bundled sources
(ingested into a temporary folder): cProfile with each thread's own CPU clock
(``time.thread_time``, so waiting costs nothing), every answering thread and the embedding
batcher profiled and their figures added up.

- *today*: torch's default threads, each question embedded alone, answered on 8 threads.
- *this branch*: one torch thread, questions embedded in batches of up to 8
  (``BatchingEmbedder``), answered on 8 threads (``AnswerPool``'s default).

Prints the top functions by cumulative CPU time and the CPU per question; writes
``bench/results/profile_answer.md``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.answering.engine import Engine, build_engine  # noqa: E402
from bot.settings import Settings  # noqa: E402
from knowledge.batching import BatchingEmbedder  # noqa: E402

QUESTIONS = ROOT / "knowledge" / "eval" / "questions.jsonl"
RESULTS = ROOT / "bench" / "results" / "profile_answer.md"
TOP = 12


def questions(n: int) -> list[str]:
    texts = [json.loads(line)["q"] for line in QUESTIONS.read_text().splitlines() if line]
    return [texts[i % len(texts)] for i in range(n)]


class ProfiledBatcher(BatchingEmbedder):
    """The batcher with its thread profiled (bench only)."""

    profiles: list[cProfile.Profile]

    def _run(self) -> None:
        profile = cProfile.Profile(time.thread_time)
        self.profiles.append(profile)
        profile.enable()
        super()._run()


def profiled_burst(engine: Engine, texts: list[str], workers: int) -> tuple[pstats.Stats, float]:
    """Answer ``texts`` on ``workers`` threads, each thread profiled; CPU seconds in total."""
    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()

    def start_profile() -> None:
        profile = cProfile.Profile(time.thread_time)
        with lock:
            profiles.append(profile)
        profile.enable()

    cpu = time.process_time()
    with ThreadPoolExecutor(max_workers=workers, initializer=start_profile) as pool:
        list(pool.map(engine.answerer.answer, texts))
    cpu = time.process_time() - cpu
    for profile in profiles:
        profile.disable()
    embedder = engine.index.embedder
    if isinstance(embedder, ProfiledBatcher):
        profiles.extend(embedder.profiles)  # the batcher thread: where the model runs
    stats = pstats.Stats(profiles[0])
    for profile in profiles[1:]:
        stats.add(profile)
    return stats, cpu


def profiled_one(engine: Engine, text: str) -> tuple[pstats.Stats, float]:
    profile = cProfile.Profile(time.thread_time)
    cpu = time.process_time()
    profile.enable()
    engine.answerer.answer(text)
    profile.disable()
    cpu = time.process_time() - cpu
    stats = pstats.Stats(profile)
    embedder = engine.index.embedder
    if isinstance(embedder, ProfiledBatcher):
        for other in embedder.profiles:
            stats.add(other)
    return stats, cpu


def top(stats: pstats.Stats) -> str:
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats("cumulative").print_stats(TOP)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls"))
    return "\n".join(lines[start:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=64)
    args = parser.parse_args()
    import torch

    default_threads = torch.get_num_threads()
    sections: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        engine = build_engine(Settings(data_dir=Path(tmp), _env_file=None))
        engine.ingest()
        texts = questions(args.burst)
        for text in texts[:16]:
            engine.answerer.answer(text)  # warm
        one_today, one_today_cpu = profiled_one(engine, texts[0])
        burst_today, burst_today_cpu = profiled_burst(engine, texts, 8)
        torch.set_num_threads(1)
        inner = engine.index.embedder
        for text in texts[:16]:
            engine.answerer.answer(text)  # warm with one thread

        def fresh_batcher() -> ProfiledBatcher:
            # A new batcher (and thread, and profile) for each measurement.
            batcher = ProfiledBatcher(inner, window=0.002, max_batch=8)
            batcher.profiles = []
            engine.index.embedder = batcher
            return batcher

        fresh_batcher()
        one_new, one_new_cpu = profiled_one(engine, texts[0])
        batcher = fresh_batcher()
        burst_new, burst_new_cpu = profiled_burst(engine, texts, 8)
    n = args.burst
    per_call = batcher.batched_questions / max(1, batcher.batches)
    sections.append(
        f"# Profile of one answer and of a burst of {n}\n\n"
        f"`python bench/profile_answer.py --burst {n}`, one process, 2 cores shared with other "
        f"jobs. CPU per question (process CPU time): one answer today {one_today_cpu * 1000:.1f}"
        f" ms ({default_threads} torch threads), this branch {one_new_cpu * 1000:.1f} ms (1 "
        f"thread); burst today {burst_today_cpu / n * 1000:.1f} ms, this branch "
        f"{burst_new_cpu / n * 1000:.1f} ms ({per_call:.1f} questions per model call). "
        "torch's own threads are not Python threads: their CPU is in the totals, not in the "
        "profiles. Top functions by cumulative CPU time "
        "(per-thread clocks, all answering threads and the batcher added up):"
    )
    for title, stats in (
        ("one answer, today", one_today),
        ("one answer, this branch", one_new),
        (f"burst of {n}, today", burst_today),
        (f"burst of {n}, this branch", burst_new),
    ):
        sections.append(f"## {title}\n\n```\n{top(stats)}\n```")
    text = "\n\n".join(sections) + "\n"
    RESULTS.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
