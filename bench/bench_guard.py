"""Answer latency with and without the privacy guard, interleaved in the same run.

Run: ``python bench/bench_guard.py [--rounds N]``. Builds the engine on the bundled sources in
a temporary folder (one-off start-up, not measured), then answers every question of
``knowledge/eval/questions.jsonl`` plus the same questions with an HKID, a phone number or an
email address appended, in both modes, alternating which mode goes first:

- plain: ``answerer.answer(question)``, the engine alone.
- guarded: ``guard(question)`` then ``answerer.answer(redacted)``, as ``Assistant.ask`` and
  ``policybot ask`` do.
- guard alone: the ``guard`` call inside the guarded mode, timed separately.

Prints p50/p95/mean in milliseconds per mode and the p95 difference. Retrieval jitter is
much larger than the guard, so the guard-alone line is the cost; the p95 difference shows it
is lost in the noise of an answer. The target is at most 2 ms at p95.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.answering.engine import build_engine  # noqa: E402
from bot.privacy.guard import guard  # noqa: E402
from bot.settings import Settings  # noqa: E402

QUESTIONS = ROOT / "knowledge" / "eval" / "questions.jsonl"
IDENTIFIERS = [
    " My HKID is A123456(3).",
    " Call me on 9123 4567.",
    " Reply to chan.tai.man@example.com please.",
]


def questions() -> list[str]:
    plain = [json.loads(line)["q"] for line in QUESTIONS.read_text("utf-8").splitlines() if line]
    with_ids = [q + IDENTIFIERS[i % len(IDENTIFIERS)] for i, q in enumerate(plain)]
    return plain + with_ids


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def row(name: str, values: list[float]) -> str:
    return (
        f"{name:<12} p50 {percentile(values, 0.5):8.3f}  p95 {percentile(values, 0.95):8.3f}  "
        f"mean {statistics.fmean(values):8.3f}  (ms, n={len(values)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        engine = build_engine(Settings(data_dir=Path(data_dir), _env_file=None))
        engine.ingest()
        answer = engine.answerer.answer
        corpus = questions()
        for q in corpus[:20]:  # warm caches (tokenizer, BM25, phone parser)
            answer(guard(q).text)
        plain: list[float] = []
        guarded: list[float] = []
        alone: list[float] = []
        for round_number in range(args.rounds):
            for i, q in enumerate(corpus):
                order = (0, 1) if (i + round_number) % 2 == 0 else (1, 0)
                for mode in order:
                    started = time.perf_counter()
                    if mode == 0:
                        answer(q)
                        plain.append((time.perf_counter() - started) * 1000)
                    else:
                        text = guard(q).text
                        redacted = time.perf_counter()
                        answer(text)
                        guarded.append((time.perf_counter() - started) * 1000)
                        alone.append((redacted - started) * 1000)
    print(f"{len(corpus)} questions ({len(corpus) // 2} with an identifier) x {args.rounds}")
    print(row("plain", plain))
    print(row("guarded", guarded))
    print(row("guard alone", alone))
    delta = percentile(guarded, 0.95) - percentile(plain, 0.95)
    print(f"p95 guarded - plain: {delta:+.3f} ms (target: guard adds <= 2 ms at p95)")


if __name__ == "__main__":
    main()
