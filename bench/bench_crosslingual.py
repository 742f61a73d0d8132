"""Chinese questions against their English twins, per corpus, and the choices behind them.

Run: ``python bench/bench_crosslingual.py`` (several minutes on 2 cores; ``--quick`` skips
the segmenter and glossary alternatives). Writes ``bench/results/crosslingual.md`` and
prints it. Every figure comes from one run with one model (all-MiniLM-L6-v2):

- per corpus (the bundled sources and each eval-pool policy that has a Chinese set under
  ``knowledge/eval/pool-zh/``): hit@1, hit@3, MRR, refusal and false refusal of the Chinese
  questions, of their English twins, and of the written and Cantonese questions apart;
- alternatives on the same questions: each segmenter (PyCantonese, jieba, longest match
  over CC-CEDICT) with and without the project's glossary;
- speed: warm answer p50/p95 of the Chinese questions and of their English twins, asked
  alternately on the same engine, and the ratio of the p95s.

The glossary was written from the bundled sources only, before the pool's Chinese sets were
written; the rule cutting out multi-character function words before segmenting was added
after reading the translations of the madscitech set, and so were the Cantonese verbs and
time words added to the glossary later. Those two corpora are therefore tuned-on; the other
pool policies are held out (the Chinese off-topic probes were written without reading any
eval set's questions).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.answering.engine import Engine, build_engine  # noqa: E402
from bot.answering.evaluation import latency_summary  # noqa: E402
from bot.answering.language_eval import load_twin_cases, question_report, twin_metrics  # noqa: E402
from bot.settings import BUNDLED_SOURCES, Settings  # noqa: E402
from knowledge.crosslingual import Glossary, QuestionReader, Translator  # noqa: E402
from knowledge.embedding import Embedder, SentenceTransformerEmbedder  # noqa: E402

# The evaluation pool sits beside the repository (../shared/eval-pool), or beside the
# folder of worktrees; --pool names it otherwise.
POOL_CANDIDATES = (ROOT.parent / "shared" / "eval-pool", ROOT.parents[1] / "shared" / "eval-pool")
ZH_SETS = ROOT / "knowledge" / "eval"
METRICS = ("hit@1", "hit@3", "mrr", "refusal", "false_refusal")
SEGMENTERS = ("pycantonese", "jieba", "dictionary")
LATENCY_ROUNDS = 3
# Corpora the reading of Chinese questions was adjusted on (see the module docstring).
TUNED_ON = {"bundled", "madscitech-ai-use-policy"}
HEADER = (
    "| questions | in + out | hit@1 | hit@3 | MRR | refusal (out) | false refusal |\n"
    "|---|---|---|---|---|---|---|"
)


def corpora(pool: Path | None) -> list[tuple[str, Path, Path, bool]]:
    """(name, sources, Chinese question set, held out) for every corpus with a set."""
    found = [("bundled", BUNDLED_SOURCES, ZH_SETS / "questions-zh.jsonl", False)]
    pool = pool or next((p for p in POOL_CANDIDATES if p.is_dir()), None)
    if pool is None:
        print("no evaluation pool found: the bundled corpus only (pass --pool)", file=sys.stderr)
        return found
    for questions in sorted((ZH_SETS / "pool-zh").glob("*.jsonl")):
        corpus = pool / questions.stem / "corpus"
        if corpus.is_dir():
            found.append((questions.stem, corpus, questions, questions.stem not in TUNED_ON))
    return found


def engine_for(sources: Path, embedder: Embedder, workdir: Path) -> Engine:
    settings = Settings(data_dir=workdir, sources=[sources], _env_file=None)
    engine = build_engine(settings, embedder=embedder)
    engine.ensure_ingested()
    return engine


def row(label: str, metrics: dict[str, object]) -> str:
    cells = " | ".join(f"{metrics[m]:.3f}" for m in METRICS)  # type: ignore[str-format]
    return f"| {label} | {metrics['in_scope']} + {metrics['out_of_scope']} | {cells} |"


def alternatives(engine: Engine, cases: list) -> list[str]:
    lines = []
    shipped = engine.index.reader
    questions = [(c.question, c.gold) for c in cases]
    for segmenter in SEGMENTERS:
        for with_glossary in (True, False):
            glossary = Glossary.bundled()
            if not with_glossary:
                glossary = Glossary(terms={}, ignore=glossary.ignore)
            engine.index.reader = QuestionReader(Translator(segmenter=segmenter, glossary=glossary))
            metrics = question_report(engine.answerer, questions).metrics()
            label = f"{segmenter}, {'with' if with_glossary else 'without'} glossary"
            lines.append(row(label, metrics))
    engine.index.reader = shipped
    return lines


def latency(engine: Engine, cases: list) -> dict[str, dict[str, float]]:
    """Warm answers only: each question is asked once before timing starts."""
    for case in cases:
        engine.answerer.answer(case.question)
        engine.answerer.answer(case.english)
    timed: dict[str, list[float]] = {"zh": [], "en": []}
    for _ in range(LATENCY_ROUNDS):
        for case in cases:
            for language, question in (("zh", case.question), ("en", case.english)):
                started = time.perf_counter()
                engine.answerer.answer(question)
                timed[language].append((time.perf_counter() - started) * 1000)
    return {language: latency_summary(values) for language, values in timed.items()}


def chinese_beside_english(embedder: Embedder, workdir: Path) -> str:
    """The bundled policy's Chinese questions beside their English twins (for
    ``bench/bench_retrieval.py``, which reports the English question set)."""
    cases = load_twin_cases(ZH_SETS / "questions-zh.jsonl")
    engine = engine_for(BUNDLED_SOURCES, embedder, workdir)
    figures = twin_metrics(engine.answerer, cases)
    lines = ["Chinese questions on the bundled policy (knowledge/eval/questions-zh.jsonl):", ""]
    lines += [HEADER, *(row(key, figures[key]) for key in figures)]  # type: ignore[arg-type]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the alternatives")
    parser.add_argument("--pool", type=Path, help="the evaluation pool's folder")
    args = parser.parse_args()
    embedder = SentenceTransformerEmbedder("all-MiniLM-L6-v2")
    out = ["# Chinese questions beside their English twins", ""]
    with tempfile.TemporaryDirectory() as tmp:
        for name, sources, questions, held_out in corpora(args.pool):
            cases = load_twin_cases(questions)
            engine = engine_for(sources, embedder, Path(tmp) / name)
            figures = twin_metrics(engine.answerer, cases)
            status = "held out" if held_out else "tuned on"
            out += [f"## {name} ({status})", "", HEADER]
            out += [row(key, figures[key]) for key in figures]  # type: ignore[arg-type]
            if name == "bundled":
                speed = latency(engine, cases)
                ratio = speed["zh"]["p95"] / speed["en"]["p95"]
                out += [
                    "",
                    f"Warm answer latency over {LATENCY_ROUNDS} rounds: Chinese p50 "
                    f"{speed['zh']['p50']:.1f} ms, p95 {speed['zh']['p95']:.1f} ms; English "
                    f"p50 {speed['en']['p50']:.1f} ms, p95 {speed['en']['p95']:.1f} ms; "
                    f"p95 ratio {ratio:.2f}.",
                ]
            if not args.quick:
                out += ["", "Alternatives (Chinese questions):", "", HEADER]
                out += alternatives(engine, cases)
            out.append("")
    table = "\n".join(out)
    (ROOT / "bench" / "results" / "crosslingual.md").write_text(table + "\n", encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
