"""Embedding CPU and wall time per question by torch thread count, alone and in batches of 8.

Run: ``python bench/bench_embed_threads.py [--questions 120] [--rounds 3]`` (under a minute).
The model only (all-MiniLM-L6-v2, the server's embedder), in this process, on the bundled
evaluation questions: each question embedded alone with torch's default threads (one a
core), alone with one thread, and 8 at a time with one thread; the settings alternate round
by round so that a change in the machine's load touches each of them alike. CPU is this
process's time (``time.process_time``: torch's own threads included). What
``POLICYBOT_TORCH_THREADS`` defaults to (1) and ``knowledge/batching.py`` cite. Writes
``bench/results/embed_threads.md`` and prints it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from knowledge.embedding import SentenceTransformerEmbedder  # noqa: E402

QUESTIONS = ROOT / "knowledge" / "eval" / "questions.jsonl"
RESULTS = ROOT / "bench" / "results" / "embed_threads.md"


def measure(
    embedder: SentenceTransformerEmbedder, texts: list[str], batch: int
) -> tuple[float, float]:
    """CPU and wall seconds per question of embedding ``texts`` ``batch`` at a time."""
    cpu, wall = time.process_time(), time.perf_counter()
    for start in range(0, len(texts), batch):
        embedder.embed(texts[start : start + batch])
    return (time.process_time() - cpu) / len(texts), (time.perf_counter() - wall) / len(texts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    import torch

    default_threads = torch.get_num_threads()
    lines = [json.loads(line)["q"] for line in QUESTIONS.read_text().splitlines() if line]
    texts = lines[: args.questions]
    embedder = SentenceTransformerEmbedder("sentence-transformers/all-MiniLM-L6-v2")
    settings = [
        (f"alone, {default_threads} threads (torch's default)", default_threads, 1),
        ("alone, 1 thread", 1, 1),
        ("8 at a time, 1 thread", 1, 8),
    ]
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name, _, _ in settings}
    for _ in range(args.rounds):
        for name, threads, batch in settings:
            torch.set_num_threads(threads)
            embedder.embed(texts[:8])  # warm at this thread count
            figures[name].append(measure(embedder, texts, batch))
    base_cpu = statistics.median(cpu for cpu, _ in figures[settings[1][0]])
    out = [
        "# Embedding a question: torch threads and batches",
        "",
        f"`python bench/bench_embed_threads.py --questions {len(texts)} --rounds {args.rounds}`"
        f": all-MiniLM-L6-v2 in one process, {len(texts)} evaluation questions per round, the "
        f"settings alternating over {args.rounds} rounds; medians of the rounds. Load average "
        f"{os.getloadavg()[0]:.1f} at the end (2 cores shared with other jobs).",
        "",
        "| embedding | CPU ms per question | wall ms per question | CPU / one thread alone |",
        "|---|---|---|---|",
    ]
    for name, _, _ in settings:
        cpu = statistics.median(c for c, _ in figures[name])
        wall = statistics.median(w for _, w in figures[name])
        out.append(f"| {name} | {cpu * 1000:.1f} | {wall * 1000:.1f} | {cpu / base_cpu:.2f} |")
    text = "\n".join(out) + "\n"
    RESULTS.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
