"""A warm answer's latency and a first ingest's time, with one torch thread and with torch's
default (one per core), in the same invocation.

Run: ``python bench/bench_answer_latency.py [POOL] [--rounds 2]``. Each configuration runs in a
process of its own (torch's thread count is per process), alternating ``1, default, 1,
default ...`` so that whatever else the machine is doing falls on both alike. One process:

- copies the bundled sources into a temporary folder and times the first ingest (loading,
  chunking, embedding, calibration) and a re-ingest of the unchanged folder;
- answers every question of the bundled corpus and of each policy in POOL (default
  ``../shared/eval-pool``) on the warm engine, one at a time, after five untimed answers,
  recording each answer's wall time and the process's CPU time.

Writes ``bench/results/answer_latency.md``: per configuration, the median over rounds of each
figure, and the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

POOL = ROOT.parent / "shared" / "eval-pool"
RESULTS = ROOT / "bench" / "results" / "answer_latency.md"
WARM_UP = 5


def child(threads: int, pool: Path) -> dict[str, object]:
    """One configuration's figures, measured in this process."""
    from bot.answering.corpora import bundled_corpus, corpus_engine, pool_corpora
    from bot.answering.engine import build_engine
    from bot.answering.evaluation import load_cases
    from bot.settings import Settings
    from knowledge.embedding import SentenceTransformerEmbedder

    os.environ["POLICYBOT_TORCH_THREADS"] = str(threads)
    figures: dict[str, object] = {"threads": threads}
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        sources = Path(tmp) / "sources"
        shutil.copytree(bundled_corpus().sources[0], sources)
        settings = Settings(data_dir=Path(tmp) / "timing", sources=[sources], _env_file=None)
        engine = build_engine(settings)
        import torch

        figures["torch_threads"] = torch.get_num_threads()
        started, cpu_started = time.perf_counter(), time.process_time()
        first = engine.ingest()
        figures["first_ingest_s"] = time.perf_counter() - started
        # With one torch thread, CPU time is about what the wall time is on an idle machine.
        figures["first_ingest_cpu_s"] = time.process_time() - cpu_started
        figures["sections"] = first.added
        again = engine.ingest()
        figures["reingest_s"] = again.seconds
        figures["reingest_embedded"] = again.embedded
        embedder = SentenceTransformerEmbedder(settings.embedding_model)
        corpora = pool_corpora(pool) if pool.is_dir() else [bundled_corpus()]
        per_corpus = {}
        for corpus in corpora:
            local = Settings(data_dir=Path(tmp) / "data", _env_file=None)
            answering = corpus_engine(
                corpus, local, embedder=embedder, index_dir=Path(tmp) / corpus.name
            )
            questions = [case.question for case in load_cases(corpus.questions)]
            for question in questions[:WARM_UP]:
                answering.answerer.answer(question)
            wall = []
            cpu_started = time.process_time()
            for question in questions:
                started = time.perf_counter()
                answering.answerer.answer(question)
                wall.append((time.perf_counter() - started) * 1000)
            cpu_ms = (time.process_time() - cpu_started) * 1000 / len(questions)
            per_corpus[corpus.name] = {
                "questions": len(questions),
                "p50_ms": float(np.percentile(wall, 50)),
                "p95_ms": float(np.percentile(wall, 95)),
                "cpu_ms": cpu_ms,
            }
        figures["corpora"] = per_corpus
    return figures


def run(pool: Path, rounds: int) -> list[dict[str, object]]:
    results = []
    for _ in range(rounds):
        for threads in (1, 0):
            out = subprocess.run(
                [sys.executable, __file__, str(pool), "--child", str(threads)],
                check=True,
                capture_output=True,
                text=True,
            )
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(json.dumps(results[-1]), flush=True)
    return results


def table(results: list[dict[str, object]], load: tuple[str, str]) -> str:
    by_threads: dict[int, list[dict]] = {}
    for result in results:
        by_threads.setdefault(int(result["threads"]), []).append(result)  # type: ignore[arg-type]
    lines = [
        "# Warm answer latency and first ingest, one torch thread vs torch's default",
        "",
        f"`python bench/bench_answer_latency.py`, {len(results)} processes alternating "
        f"(medians over {len(next(iter(by_threads.values())))} rounds). "
        f"Load average before: {load[0]}; after: {load[1]}.",
        "",
        "| torch threads | first ingest s (CPU s) | no-op re-ingest s | corpus | answer p50 ms | "
        "answer p95 ms | CPU ms per answer |",
        "|---|---|---|---|---|---|---|",
    ]
    for threads, runs in sorted(by_threads.items()):
        label = f"{runs[0]['torch_threads']} ({'setting 1' if threads else 'default'})"
        ingest = median(float(r["first_ingest_s"]) for r in runs)  # type: ignore[arg-type]
        ingest_cpu = median(float(r["first_ingest_cpu_s"]) for r in runs)  # type: ignore[arg-type]
        reingest = median(float(r["reingest_s"]) for r in runs)  # type: ignore[arg-type]
        for i, name in enumerate(runs[0]["corpora"]):  # type: ignore[union-attr]
            values = [r["corpora"][name] for r in runs]  # type: ignore[index]
            lines.append(
                f"| {label if i == 0 else ''} | "
                f"{f'{ingest:.1f} ({ingest_cpu:.1f})' if i == 0 else ''} | "
                f"{f'{reingest:.2f}' if i == 0 else ''} | {name} | "
                f"{median(v['p50_ms'] for v in values):.1f} | "
                f"{median(v['p95_ms'] for v in values):.1f} | "
                f"{median(v['cpu_ms'] for v in values):.1f} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pool", nargs="?", type=Path, default=POOL)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.pool)))
        return
    before = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    results = run(args.pool, args.rounds)
    after = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    text = table(results, (before, after))
    RESULTS.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
