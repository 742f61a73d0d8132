"""Retrieval benchmark across policies, held out: every corpus is measured with what was fitted
on the others.

Run: ``python bench/bench_retrieval.py [POOL [KEEP]]`` (POOL defaults to ``../shared/eval-pool``
beside the repository; without it only the bundled corpus is measured; KEEP is a folder where
the corpora's indexes are kept between runs, so a rerun embeds nothing). Writes
``bench/results/retrieval.md`` and ``bench/results/retrieval.png`` and prints the table.

For each corpus (the bundled policy and each policy of the pool), one index of its own is
built, and every question's signals against every section are computed once. Then, leaving
each corpus out in turn:

- engine (held out): fusion weights and the calibration quantiles (off-topic, near-topic)
  fitted on the other corpora, the not-found rule calibrated on the held-out corpus's own
  index with them; "off-topic probes only (before)" is the same without the near-topic probes;
- dense-only / bm25-only: one signal each, refusal calibrated the same way;
- naive LangChain: RecursiveCharacterTextSplitter 1000/200 over the raw files, dense top-4,
  no refusal. A naive chunk hits a gold section if it contains the start of that section.

Latency is the shipped answer path (retrieve, decide, compose) per question on a warm engine;
ingest time is a first ingest of the bundled sources including calibration.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_crosslingual import chinese_beside_english  # noqa: E402
from bot.answering.corpora import Corpus, corpus_engine, pool_corpora  # noqa: E402
from bot.answering.corpora import bundled_corpus as bundled  # noqa: E402
from bot.answering.engine import build_engine  # noqa: E402
from bot.answering.evaluation import load_cases, matches, percentile  # noqa: E402
from bot.settings import BUNDLED_SOURCES, Settings  # noqa: E402
from knowledge.calibration import decide_threshold, probe_sets  # noqa: E402
from knowledge.embedding import Embedder, SentenceTransformerEmbedder  # noqa: E402
from knowledge.loaders import iter_source_files, load_document  # noqa: E402
from knowledge.ranking import FusionWeights, Signals, fuse  # noqa: E402

POOL = ROOT.parent / "shared" / "eval-pool"
# Off-topic questions of our own for the pool's policies: reported apart, never fitted on.
EXTRA = ROOT / "knowledge" / "eval" / "pool-extra"
STEP = 0.1
QUANTILES = (0.9, 0.93, 0.95, 0.97, 0.98, 0.99)
# Quantile of the near-topic probes' scores; None: near-topic probes not used.
NEAR_QUANTILES = (None, 0.3, 0.4, 0.5, 0.6, 0.7)
FALSE_REFUSAL_BUDGET = 0.05


@dataclass
class Measured:
    """One corpus's signals, computed once and fused under any weights afterwards."""

    corpus: Corpus
    questions: Signals
    off_topic: Signals
    near_topic: Signals
    in_scope: Signals
    gold: np.ndarray
    outside: np.ndarray
    is_policy: np.ndarray
    latencies: list[float]
    extra: Signals | None = None


@dataclass
class Row:
    system: str
    corpus: str
    hit1: float
    hit3: float
    mrr: float
    refusal: float
    false_refusal: float
    p95: float = 0.0
    # Refusal of our own extra off-topic questions (knowledge/eval/pool-extra); None: none.
    extra_refusal: float | None = None


def measure(corpus: Corpus, embedder: Embedder, workdir: Path, *, timed: bool = True) -> Measured:
    """The corpus's signals, and (``timed``) the latency of the answer path per question."""
    settings = Settings(data_dir=workdir / "data", _env_file=None)
    engine = corpus_engine(corpus, settings, embedder=embedder, index_dir=workdir / corpus.name)
    cases = load_cases(corpus.questions)
    chunks = engine.index.chunks()
    probes = probe_sets()[0]
    latencies = []
    for case in cases if timed else ():
        started = time.perf_counter()
        engine.answerer.answer(case.question)
        latencies.append((time.perf_counter() - started) * 1000)
    extra_file = EXTRA / f"{corpus.name}.jsonl"
    extra = [c.question for c in load_cases(extra_file)] if extra_file.is_file() else []
    return Measured(
        corpus=corpus,
        extra=engine.index.signals(extra) if extra else None,
        questions=engine.index.signals([c.question for c in cases]),
        off_topic=engine.index.signals(list(probes.off_topic)),
        near_topic=engine.index.signals(list(probes.near_topic)),
        in_scope=engine.index.signals(probes.in_scope([c.section or c.document for c in chunks])),
        gold=np.array(
            [[matches(c.section, case.gold, document=c.document) for c in chunks] for case in cases]
        ),
        outside=np.array([case.out_of_scope for case in cases]),
        is_policy=np.array([c.kind != "guidance" for c in chunks]),
        latencies=latencies,
    )


Rule = tuple[float, float | None]


def rows_for(m: Measured, weights: FusionWeights, rule: Rule | None, system: str) -> Row:
    fused = fuse(m.questions, weights, m.is_policy)
    inside = ~m.outside
    best_gold = np.where(m.gold, fused, -np.inf).max(axis=1)
    rank = 1 + (fused > best_gold[:, None]).sum(axis=1)
    rank = np.where(np.isfinite(best_gold), rank, 10**6)[inside]
    top = fused.max(axis=1)
    extra_refusal = None
    if rule is None:
        refused = np.zeros(len(top), dtype=bool)
    else:
        quantile, near_quantile = rule
        threshold = decide_threshold(
            fuse(m.off_topic, weights, m.is_policy).max(axis=1),
            fuse(m.in_scope, weights, m.is_policy).max(axis=1),
            quantile=quantile,
            near_topic=None
            if near_quantile is None
            else fuse(m.near_topic, weights, m.is_policy).max(axis=1),
            near_quantile=near_quantile or 0.5,
        )
        refused = top < threshold
        if m.extra is not None:
            extra_top = fuse(m.extra, weights, m.is_policy).max(axis=1)
            extra_refusal = float(np.mean(extra_top < threshold))
    return Row(
        system=system,
        corpus=m.corpus.name,
        hit1=float(np.mean(rank == 1)),
        hit3=float(np.mean(rank <= 3)),
        mrr=float(np.mean(1.0 / rank)),
        refusal=float(np.mean(refused[m.outside])) if m.outside.any() else 0.0,
        false_refusal=float(np.mean(refused[inside])),
        extra_refusal=extra_refusal,
    )


def weight_grid(authority: float) -> list[FusionWeights]:
    steps = np.round(np.arange(0, 1 + 1e-9, STEP), 2)
    return [
        FusionWeights(float(d), float(s), float(lex), authority)
        for d, s, lex in itertools.product(steps, steps, steps)
        if abs(d + s + lex - 1) < 1e-9
    ]


def fit(
    training: list[Measured], authority: float, near_grid: tuple[float | None, ...] = NEAR_QUANTILES
) -> tuple[FusionWeights, Rule]:
    """Weights maximising macro hit@1 + MRR, then the highest-refusal pair of quantiles
    (off-topic, near-topic) whose macro false refusal stays within budget, both on
    ``training`` only."""

    def ranking_score(weights: FusionWeights) -> float:
        rows = [rows_for(m, weights, None, "fit") for m in training]
        return sum(r.hit1 + r.mrr for r in rows)

    weights = max(weight_grid(authority), key=ranking_score)
    best: tuple[float, float, Rule] = (-1.0, 0.0, (QUANTILES[0], None))
    for rule in itertools.product(QUANTILES, near_grid):
        rows = [rows_for(m, weights, rule, "fit") for m in training]
        false_refusal = float(np.mean([r.false_refusal for r in rows]))
        refusal = float(np.mean([r.refusal for r in rows]))
        if false_refusal <= FALSE_REFUSAL_BUDGET and (refusal, -false_refusal) > best[:2]:
            best = (refusal, -false_refusal, rule)
    return weights, best[2]


def naive_row(m: Measured, embedder: Embedder) -> Row:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    texts, sections = [], []
    for root in m.corpus.sources:
        for path in iter_source_files(root):
            texts.extend(splitter.split_text(path.read_text(encoding="utf-8")))
            document = load_document(path, root)
            for section in document.sections:
                probe = " ".join(section.text.split())[:80]
                sections.append((section.label, document.title, probe))
    vectors = embedder.embed(texts)
    flat = [" ".join(t.split()) for t in texts]
    cases = load_cases(m.corpus.questions)
    ranks = []
    for case in (c for c in cases if not c.out_of_scope):
        order = np.argsort(-(vectors @ embedder.embed([case.question])[0]))[:4]
        rank = next(
            (
                i
                for i, chunk in enumerate(order, start=1)
                if any(
                    probe and probe in flat[chunk] and matches(label, case.gold, document=title)
                    for label, title, probe in sections
                )
            ),
            10**6,
        )
        ranks.append(rank)
    r = np.array(ranks)
    return Row(
        "naive LangChain (1000/200, top-4)",
        m.corpus.name,
        float(np.mean(r == 1)),
        float(np.mean(r <= 3)),
        float(np.mean(1.0 / r)),
        0.0,
        0.0,
    )


def ingest_timing(embedder: Embedder, workdir: Path) -> dict[str, float]:
    """First ingest of (a copy of) the bundled sources, a no-op re-ingest, and a re-ingest
    after one paragraph changed (a new collection, calibrated again: probe vectors cached)."""
    sources = workdir / "timing-sources"
    shutil.copytree(BUNDLED_SOURCES, sources)
    engine = build_engine(
        Settings(data_dir=workdir / "timing", sources=[sources], _env_file=None),
        embedder=embedder,
    )
    started = time.perf_counter()
    first = engine.ingest()
    first_s = time.perf_counter() - started
    again = engine.ingest()
    policy = sorted(sources.glob("*.md"))[0]
    policy.write_text(
        policy.read_text(encoding="utf-8") + "\n\nThis paragraph changed.\n", encoding="utf-8"
    )
    started = time.perf_counter()
    changed = engine.ingest()
    changed_s = time.perf_counter() - started
    return {
        "changed_s": changed_s,
        "changed_embedded": changed.embedded,
        "first_s": first_s,
        "chunks": first.added,
        "reingest_s": again.seconds,
        "reingest_embedded": again.embedded,
        "reingest_calibrated": again.calibrated,
    }


def macro(rows: list[Row], system: str) -> Row:
    return Row(
        system,
        "macro",
        *(float(np.mean([getattr(r, k) for r in rows])) for k in ("hit1", "hit3", "mrr")),
        float(np.mean([r.refusal for r in rows])),
        float(np.mean([r.false_refusal for r in rows])),
        max(r.p95 for r in rows),
        float(np.mean(extras))
        if (extras := [r.extra_refusal for r in rows if r.extra_refusal is not None])
        else None,
    )


def run(
    pool: Path, keep: Path | None, *, quick: bool = False
) -> tuple[list[Row], dict[str, object]]:
    """Every table row; ``quick`` leaves out ingest timing, latency and the naive baseline."""
    corpora = pool_corpora(pool) if pool.is_dir() else [bundled()]
    embedder = SentenceTransformerEmbedder("all-MiniLM-L6-v2")
    authority = FusionWeights().authority
    with tempfile.TemporaryDirectory(prefix="bench-retrieval-") as tmp:
        timing = {} if quick else ingest_timing(embedder, Path(tmp))
        workdir = keep or Path(tmp)
        measured = [measure(corpus, embedder, workdir, timed=not quick) for corpus in corpora]
        naive = [] if quick else [naive_row(m, embedder) for m in measured]
    rows: list[Row] = []
    fitted = {}
    for m in measured:
        others = [o for o in measured if o is not m] or [m]
        weights, quantile = fit(others, authority)
        fitted[m.corpus.name] = (weights, quantile)
        row = rows_for(m, weights, quantile, "engine (held out)")
        row.p95 = percentile(m.latencies, 95) if m.latencies else 0.0
        rows.append(row)
        rows.append(rows_for(m, FusionWeights(1.0, 0.0, 0.0, 0.0), quantile, "dense-only"))
        rows.append(rows_for(m, FusionWeights(0.0, 0.0, 1.0, 0.0), quantile, "bm25-only"))
        rows.append(rows_for(m, FusionWeights(), quantile, "previous weights"))
        _, off_only = fit(others, authority, (None,))
        rows.append(rows_for(m, weights, off_only, "engine, off-topic probes only (before)"))
    rows.extend(naive)
    all_weights, all_quantile = fit(measured, authority)
    extra: dict[str, object] = {
        **timing,
        "fitted": fitted,
        "shipped": (all_weights, all_quantile),
        "p50": {m.corpus.name: percentile(m.latencies, 50) for m in measured if m.latencies},
    }
    systems = list(dict.fromkeys(r.system for r in rows))
    for system in systems:
        rows.append(macro([r for r in rows if r.system == system], system))
    return rows, extra


def table_text(rows: list[Row]) -> str:
    header = (
        "| system | corpus | hit@1 | hit@3 | MRR | off-topic refusal | false refusal | p95 ms "
        "| refusal, own extra off-topic |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
    )
    ordered = sorted(rows, key=lambda r: (r.corpus == "macro", r.corpus, r.system))
    body = "".join(
        f"| {r.system} | {r.corpus} | {r.hit1:.3f} | {r.hit3:.3f} | {r.mrr:.3f} | "
        f"{r.refusal:.3f} | {r.false_refusal:.3f} | {f'{r.p95:.1f}' if r.p95 else '–'} | "
        f"{'–' if r.extra_refusal is None else f'{r.extra_refusal:.3f}'} |\n"
        for r in ordered
    )
    return header + body


def write_outputs(rows: list[Row], extra: dict[str, object]) -> str:
    fitted = extra["fitted"]
    assert isinstance(fitted, dict)
    fits = "".join(
        f"- held out {name}: weights dense {w.dense}, sentence {w.sentence}, lexical "
        f"{w.lexical}; off-topic quantile {q[0]}, near-topic quantile {q[1]}\n"
        for name, (w, q) in fitted.items()
    )
    shipped_w, shipped_q = extra["shipped"]  # type: ignore[misc]
    notes = (
        f"\nEvery engine figure is held out: weights and quantile fitted on the other corpora "
        f"(listed below), the threshold calibrated on the corpus's own index. Fitted on all "
        f"corpora (what ships): dense {shipped_w.dense}, sentence {shipped_w.sentence}, lexical "
        f"{shipped_w.lexical}, off-topic quantile {shipped_q[0]}, near-topic quantile "
        f"{shipped_q[1]}.\n\n{fits}\n"
        f"First ingest of the bundled sources ({extra['chunks']} section chunks) including "
        f"calibration {extra['first_s']:.1f} s; re-ingest of the unchanged folder "
        f"{extra['reingest_s']:.2f} s, {extra['reingest_embedded']} chunks re-embedded, "
        f"recalibrated: {extra['reingest_calibrated']}; re-ingest after one paragraph changed "
        f"{extra['changed_s']:.1f} s ({extra['changed_embedded']} chunks embedded, calibrated "
        f"again with the probe vectors cached).\n"
    )
    table = table_text(rows) + notes
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "retrieval.md").write_text(table, encoding="utf-8")
    plot([r for r in rows if r.corpus == "macro"], results / "retrieval.png")
    return table


def plot(rows: list[Row], target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = ["hit1", "hit3", "mrr", "refusal", "false_refusal"]
    labels = ["hit@1", "hit@3", "MRR", "refusal (off-topic)", "false refusal"]
    x = np.arange(len(metrics))
    width = 0.8 / max(1, len(rows))
    fig, ax = plt.subplots(figsize=(9, 4))
    for i, row in enumerate(rows):
        ax.bar(x + i * width, [getattr(row, m) for m in metrics], width, label=row.system)
    ax.set_xticks(x + width * (len(rows) - 1) / 2, labels)
    ax.set_ylim(0, 1.05)
    ax.set_title("Macro average over corpora, leave-one-corpus-out (higher is better but FR)")
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    fig.savefig(target, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pool", nargs="?", type=Path, default=POOL)
    parser.add_argument("keep", nargs="?", type=Path, default=None)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="held-out ranking and refusal only: no ingest timing, latency or naive baseline; "
        "prints the table without writing bench/results",
    )
    args = parser.parse_args()
    rows, extra = run(args.pool, args.keep, quick=args.quick)
    if args.quick:
        print(table_text(rows))
        return
    print(write_outputs(rows, extra))
    with tempfile.TemporaryDirectory() as tmp:
        embedder = SentenceTransformerEmbedder("all-MiniLM-L6-v2")
        print(chinese_beside_english(embedder, Path(tmp) / "chinese"))


if __name__ == "__main__":
    main()
