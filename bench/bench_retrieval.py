"""Retrieval benchmark: this engine against a naive LangChain baseline and single-signal ablations.

Run: ``python bench/bench_retrieval.py`` (about two minutes on 2 cores). Writes
``bench/results/retrieval.md`` (table) and ``bench/results/retrieval.png`` (chart) and prints
the table. All systems answer the same questions in the same run with the same model.

Systems:
- engine: section chunks, dense + best-sentence + BM25 fused, calibrated threshold (as shipped).
- dense-only / bm25-only: the same index and chunks, one signal each; their refusal threshold is
  set so that 5% of in-scope questions are refused (the same false-refusal budget as the target).
- naive: RecursiveCharacterTextSplitter 1000/200 over the raw files, dense top-4, no threshold
  (it never refuses). A naive chunk counts as hitting a gold section if it contains text of it.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_crosslingual import chinese_beside_english  # noqa: E402
from bot.evaluation import (  # noqa: E402
    Case,
    load_cases,
    matches,
    percentile,  # noqa: E402
)
from bot.runtime import build_engine  # noqa: E402
from bot.settings import BUNDLED_SOURCES, Settings  # noqa: E402
from knowledge.embedding import SentenceTransformerEmbedder  # noqa: E402
from knowledge.index import FusionWeights  # noqa: E402
from knowledge.loaders import iter_source_files, load_document  # noqa: E402

QUESTIONS = ROOT / "knowledge" / "eval" / "questions.jsonl"


@dataclass
class Row:
    system: str
    hit1: float
    hit3: float
    mrr: float
    refusal: float
    false_refusal: float
    p50: float
    p95: float
    ingest_s: float


def summarise(system: str, ranks, tops, latencies, cases, ingest_s, threshold) -> Row:
    inside = [i for i, c in enumerate(cases) if not c.out_of_scope]
    outside = [i for i, c in enumerate(cases) if c.out_of_scope]
    if threshold == "calibrate":
        threshold = sorted(tops[i] for i in inside)[int(0.05 * len(inside))]
    refused = [threshold is not None and tops[i] < threshold for i in range(len(cases))]
    return Row(
        system=system,
        hit1=sum(ranks[i] == 1 for i in inside) / len(inside),
        hit3=sum(ranks[i] is not None and ranks[i] <= 3 for i in inside) / len(inside),
        mrr=sum(1 / ranks[i] for i in inside if ranks[i]) / len(inside),
        refusal=sum(refused[i] for i in outside) / len(outside),
        false_refusal=sum(refused[i] for i in inside) / len(inside),
        p50=percentile(latencies, 50),
        p95=percentile(latencies, 95),
        ingest_s=ingest_s,
    )


def run_engine_variants(cases: list[Case], embedder, workdir: Path) -> tuple[list[Row], dict]:
    engine = build_engine(Settings(data_dir=workdir / "engine", _env_file=None), embedder=embedder)
    started = time.perf_counter()
    first = engine.ingest([BUNDLED_SOURCES])
    ingest_s = time.perf_counter() - started
    again = engine.ingest([BUNDLED_SOURCES])
    extra = {
        "first_ingest_s": ingest_s,
        "reingest_s": again.seconds,
        "reingest_embedded": again.embedded,
        "chunks": first.added,
    }
    rows = []
    variants = {
        "engine (shipped)": (engine.index.weights, engine.answerer.threshold),
        "dense-only": (FusionWeights(1.0, 0.0, 0.0, 0.0), "calibrate"),
        "bm25-only": (FusionWeights(0.0, 0.0, 1.0, 0.0), "calibrate"),
    }
    shipped = engine.index.weights
    for name, (weights, threshold) in variants.items():
        engine.index.weights = weights
        ranks, tops, latencies = [], [], []
        for case in cases:
            t0 = time.perf_counter()
            if name == "engine (shipped)":
                # The whole answer path (retrieval, decision, composing), as `ask` reports it.
                engine.answerer.answer(case.question)
            else:
                engine.index.search(case.question, limit=10)
            latencies.append((time.perf_counter() - t0) * 1000)
            hits = engine.index.search(case.question, limit=10)
            ranks.append(
                next(
                    (i for i, h in enumerate(hits, 1) if matches(h.chunk.section, case.gold)), None
                )
            )
            tops.append(hits[0].score if hits else 0.0)
        rows.append(summarise(name, ranks, tops, latencies, cases, ingest_s, threshold))
    engine.index.weights = shipped
    return rows, extra


def run_naive(cases: list[Case], embedder, workdir: Path) -> Row:
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    started = time.perf_counter()
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    texts = []
    for path in iter_source_files(BUNDLED_SOURCES):
        texts.extend(splitter.split_text(path.read_text(encoding="utf-8")))
    client = chromadb.PersistentClient(
        path=str(workdir / "naive"), settings=ChromaSettings(anonymized_telemetry=False)
    )
    collection = client.create_collection(
        "naive-baseline", configuration={"hnsw": {"space": "cosine"}}
    )
    vectors = embedder.embed(texts)
    collection.add(
        ids=[str(i) for i in range(len(texts))], documents=texts, embeddings=vectors.tolist()
    )
    ingest_s = time.perf_counter() - started

    sections = []
    for path in iter_source_files(BUNDLED_SOURCES):
        for section in load_document(path, BUNDLED_SOURCES).sections:
            probe = section.text.split("\n\n")[0][:120]
            sections.append((section.label, probe))

    def sections_in(chunk: str) -> list[str]:
        flat = " ".join(chunk.split())
        return [label for label, probe in sections if probe[:80] in flat]

    ranks, tops, latencies = [], [], []
    for case in cases:
        t0 = time.perf_counter()
        vector = embedder.embed([case.question])[0]
        result = collection.query(query_embeddings=[vector.tolist()], n_results=4)
        latencies.append((time.perf_counter() - t0) * 1000)
        rank = None
        for i, text in enumerate(result["documents"][0], start=1):
            if any(matches(label, case.gold) for label in sections_in(text)):
                rank = i
                break
        ranks.append(rank)
        tops.append(1.0 - result["distances"][0][0])
    return summarise(
        "naive LangChain (1000/200, top-4)", ranks, tops, latencies, cases, ingest_s, None
    )


def write_outputs(rows: list[Row], extra: dict, cases: list[Case]) -> str:
    header = (
        "| system | hit@1 | hit@3 | MRR | out-of-scope refusal | false refusal | p50 ms | p95 ms "
        "| ingest s |\n|---|---|---|---|---|---|---|---|---|\n"
    )
    body = "".join(
        f"| {r.system} | {r.hit1:.3f} | {r.hit3:.3f} | {r.mrr:.3f} | {r.refusal:.3f} | "
        f"{r.false_refusal:.3f} | {r.p50:.1f} | {r.p95:.1f} | {r.ingest_s:.1f} |\n"
        for r in rows
    )
    inside = sum(not c.out_of_scope for c in cases)
    notes = (
        f"\n{len(cases)} questions ({inside} in scope, {len(cases) - inside} out of scope), "
        f"{extra['chunks']} section chunks. First ingest {extra['first_ingest_s']:.1f} s; "
        f"re-ingest of the unchanged folder {extra['reingest_s']:.2f} s with "
        f"{extra['reingest_embedded']} chunks re-embedded.\n"
    )
    table = header + body + notes
    (ROOT / "bench" / "results" / "retrieval.md").write_text(table, encoding="utf-8")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = ["hit1", "hit3", "mrr", "refusal", "false_refusal"]
    labels = ["hit@1", "hit@3", "MRR", "refusal (out)", "false refusal"]
    x = np.arange(len(metrics))
    width = 0.8 / len(rows)
    fig, ax = plt.subplots(figsize=(9, 4))
    for i, row in enumerate(rows):
        ax.bar(x + i * width, [getattr(row, m) for m in metrics], width, label=row.system)
    ax.set_xticks(x + width * (len(rows) - 1) / 2, labels)
    ax.set_ylim(0, 1.05)
    ax.set_title(
        "Retrieval on knowledge/eval/questions.jsonl (higher is better, except false refusal)"
    )
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    fig.savefig(ROOT / "bench" / "results" / "retrieval.png", dpi=110)
    return table


def main() -> None:
    cases = load_cases(QUESTIONS)
    embedder = SentenceTransformerEmbedder("all-MiniLM-L6-v2")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        rows, extra = run_engine_variants(cases, embedder, workdir)
        rows.append(run_naive(cases, embedder, workdir))
        chinese = chinese_beside_english(embedder, workdir / "chinese")
    print(write_outputs(rows, extra, cases))
    print(chinese)


if __name__ == "__main__":
    main()
