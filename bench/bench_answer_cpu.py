"""CPU of an answer outside the model: the part a server pays beside the embedding.

Run: ``python bench/bench_answer_cpu.py [--before DIR] [--rounds 2]``. DIR is a checkout of
earlier code (e.g. ``git archive`` of main); without it only this tree is measured. Each
measurement is a child process (the code under test first on its path), alternating
before / this tree for ``--rounds`` rounds on one index of the bundled sources built by the
first child; figures are process CPU time (``time.process_time``), so other jobs on the
machine change them little. Per child, over the bundled evaluation questions:

- the model alone: each question embedded alone, and in batches of 8 (one torch thread);
- the rest of an answer (search, fusion, composing) with every question's vector already
  computed: first with this process's caches empty (every sentence and word met for the
  first time: the first questions a server answers), then again (warm: what a running
  server pays, as the index's sentences recur from question to question);
- the top functions of a third, profiled pass by own CPU time (profiled apart, since
  cProfile's cost per call inflates the small functions called most).

Writes ``bench/results/answer_cpu.md`` and prints it.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "knowledge" / "eval" / "questions.jsonl"
RESULTS = ROOT / "bench" / "results" / "answer_cpu.md"
TOP = 8


def measure(data_dir: Path) -> dict[str, object]:
    """In a child process: the figures above for the code first on ``sys.path``."""
    import numpy as np

    from bot.answering.engine import build_engine
    from bot.settings import Settings
    from knowledge.embedding import Embedder

    texts = [json.loads(line)["q"] for line in QUESTIONS.read_text().splitlines() if line]
    settings = Settings(_env_file=None, data_dir=data_dir, torch_threads=1)  # type: ignore[call-arg]
    engine = build_engine(settings)
    engine.ensure_ingested()
    model = engine.index.embedder

    class Known(Embedder):
        """Vectors computed beforehand: the answer's own work, without the model."""

        def __init__(self) -> None:
            self.name, self.dimension, self.vectors = model.name, model.dimension, {}

        def embed(self, batch: Sequence[str]) -> np.ndarray:
            missing = [text for text in batch if text not in self.vectors]
            if missing:
                self.vectors.update(zip(missing, model.embed(missing), strict=True))
            return np.stack([self.vectors[text] for text in batch])

    known = Known()
    known.embed(texts)
    engine.index.embedder = known
    # Every text the answerer embeds (a question after spelling fixes may differ from the
    # original): one pass in a throw-away child would miss them, so fill the vectors with
    # the caches then cleared.
    for text in texts:
        engine.answerer.answer(text)
    clear_caches()

    started = time.process_time()
    for text in texts:
        model.embed([text])
    alone = (time.process_time() - started) / len(texts)
    started = time.process_time()
    for i in range(0, len(texts), 8):
        model.embed(texts[i : i + 8])
    batched = (time.process_time() - started) / len(texts)

    started = time.process_time()
    for text in texts:
        engine.answerer.answer(text)
    cold = (time.process_time() - started) / len(texts)
    started = time.process_time()
    for text in texts:
        engine.answerer.answer(text)
    warm = (time.process_time() - started) / len(texts)
    # Profiled apart: cProfile's cost per call would swell the figures above, most for the
    # small functions called most often.
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    for text in texts:
        engine.answerer.answer(text)
    profile.disable()
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("tottime").print_stats(TOP)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls"))
    return {
        "questions": len(texts),
        "alone": alone,
        "batched": batched,
        "cold": cold,
        "warm": warm,
        "top": "\n".join(line.replace(str(ROOT), "").rstrip() for line in lines[start:]),
    }


def clear_caches() -> None:
    """Empty every function cache of the code under test (none exist in older code)."""
    import functools

    for module in list(sys.modules.values()):
        name = getattr(module, "__name__", "")
        if not name.startswith(("knowledge", "bot")):
            continue
        for value in list(vars(module).values()):
            if isinstance(value, functools._lru_cache_wrapper):
                value.cache_clear()


def child(root: Path, data_dir: Path) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYBOT_")}
    env["PYTHONPATH"] = str(root)
    result = subprocess.run(
        [sys.executable, __file__, "--measure", str(data_dir)],
        env=env,
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    return json.loads(result.stdout.splitlines()[-1])


def report(runs: list[tuple[str, dict]], load: float) -> str:
    labels = list(dict.fromkeys(label for label, _ in runs))

    def median(label: str, key: str) -> float:
        return statistics.median(float(r[key]) for each, r in runs if each == label)

    lines = [
        "# CPU of an answer outside the model",
        "",
        f"`python bench/bench_answer_cpu.py`: {len(runs)} child processes in turn ("
        + ", ".join(label for label, _ in runs)
        + f"), one index of the bundled sources, its {runs[0][1]['questions']} evaluation "
        "questions; process CPU time, one torch thread; load average at the end "
        f"{load:.1f}. Medians per code, ms of CPU per question:",
        "",
        "| code | model, alone | model, batches of 8 | rest of the answer, caches empty | rest "
        "of the answer, warm |",
        "|---|---|---|---|---|",
    ]
    for label in labels:
        lines.append(
            f"| {label} | {median(label, 'alone') * 1000:.2f} "
            f"| {median(label, 'batched') * 1000:.2f} | {median(label, 'cold') * 1000:.2f} "
            f"| {median(label, 'warm') * 1000:.2f} |"
        )
    if len(labels) == 2:
        before, after = labels
        lines += [
            "",
            f"{after} / {before}: rest of the answer, warm "
            f"{median(after, 'warm') / median(before, 'warm'):.2f}x, caches empty "
            f"{median(after, 'cold') / median(before, 'cold'):.2f}x.",
        ]
    for label in labels:
        top = next(r["top"] for each, r in runs if each == label)
        heading = f"## Top functions by own CPU, profiled warm pass: {label}"
        lines += ["", heading, "", "```", top, "```"]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, default=None, help="a checkout of earlier code")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--measure", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:
        print(json.dumps(measure(args.measure)))
        return 0
    codes = [("this tree", ROOT)]
    if args.before is not None:
        codes.insert(0, ("before", args.before.resolve()))
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for label, root in codes:
                runs.append((label, child(root, Path(tmp))))
    text = report(runs, os.getloadavg()[0])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
