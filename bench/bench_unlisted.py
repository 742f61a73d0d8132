"""Questions naming a tool, country or role the policy does not list (issue #13 item 5).

Run: ``python bench/bench_unlisted.py POOL KEEP`` (KEEP as for ``bench_ranking_ideas.py``).
Prints, per idea and corpus, the held-out pool figures and the unlisted set's figures
(``knowledge/eval/unlisted.jsonl`` for the bundled policy, ``knowledge/eval/pool-unlisted/``
for the others), then the words the ideas act on with their category margins.

A question word is *unknown* when the corpus does not contain it (the index's own vocabulary,
as the speller sees it) and it is not a stop word. Ideas, each a second reading of every
question (in-scope, off-topic, probes and the unlisted set alike), the section's fused score
being the better of the two readings:

- mask: the unknown words removed;
- mask, uncommon only: only unknown words that are also not a whole word of the embedding
  model's tokenizer vocabulary (a rough list of common words) or are capitalised;
- category ≥ τ: an unknown word whose embedding is closer to one of our category anchors
  (an AI tool, a place, a job) than to a neutral anchor by at least τ is replaced by the
  category's phrase ("an AI tool", "another country", "an employee role");
- category ≥ τ, uncommon only: the same, for the uncommon unknown words only.

Weights and calibration quantiles are fitted leave-one-corpus-out as in
``bench_ranking_ideas.fit``; τ is reported for each value of a small grid and also chosen
held out (the value best on the other corpora's unlisted hit@1 + hit@3 − false refusal).
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_ranking_ideas import Idea, Material, fit, load, metrics  # noqa: E402
from bot.answering.corpora import pool_corpora  # noqa: E402
from knowledge.embedding import SentenceTransformerEmbedder, bundled_model_path  # noqa: E402
from knowledge.lexical import _SHORTHAND, _STOPWORDS, _TOKEN, Speller  # noqa: E402
from knowledge.ranking import about_regulator  # noqa: E402

# Our anchors: a category's description, and the phrase an unknown word of it becomes.
CATEGORIES = (
    ("an AI chatbot or AI software tool", "an AI tool"),
    ("a country or city", "another country"),
    ("a job title or team", "an employee role"),
)
NEUTRAL = "a common English word"
TAUS = (0.1, 0.2, 0.3)
_WORDS = re.compile(r"[A-Za-z][A-Za-z0-9'-]*")
BASE = Idea("base")


def common_words() -> frozenset[str]:
    """Whole-word entries of the embedding model's tokenizer vocabulary (no '##' pieces)."""
    lines = (bundled_model_path() / "vocab.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(w for w in lines if w.isalpha() and not w.startswith("["))


class Reader:
    """Rewrites questions' unknown words; word margins are embedded once and cached."""

    def __init__(self, embedder: SentenceTransformerEmbedder) -> None:
        self.embedder = embedder
        self.common = common_words()
        self.anchors = embedder.embed([a for a, _ in CATEGORIES] + [NEUTRAL])
        self.margins: dict[str, tuple[float, int]] = {}

    def unknown(self, word: str, m: Material, uncommon: bool) -> bool:
        lower = word.lower()
        if lower in m.vocabulary or lower in _STOPWORDS or len(lower) < 3:
            return False
        return not uncommon or lower not in self.common or word[0].isupper()

    def margin(self, words: list[str]) -> None:
        new = sorted({w for w in words if w not in self.margins})
        if new:
            sims = self.embedder.embed(new) @ self.anchors.T
            for word, row in zip(new, sims, strict=True):
                best = int(np.argmax(row[:-1]))
                self.margins[word] = (float(row[best] - row[-1]), best)

    def rewrite(self, question: str, m: Material, how: str, uncommon: bool, tau: float) -> str:
        words = [w for w in _WORDS.findall(question) if self.unknown(w, m, uncommon)]
        if how == "category":
            self.margin(words)

        def replace(match: re.Match[str]) -> str:
            word = match.group(0)
            if not self.unknown(word, m, uncommon):
                return word
            if how == "mask":
                return ""
            margin, best = self.margins[word]
            return CATEGORIES[best][1] if margin >= tau else word

        text = _WORDS.sub(replace, question)
        # Consecutive words of one category ("Mistral Le Chat") become one phrase.
        for _, phrase in CATEGORIES:
            text = re.sub(rf"({re.escape(phrase)})(\s+\1)+", r"\1", text)
        text = re.sub(r"\s+", " ", text).strip()
        return text if _WORDS.search(text) else question


CONTEXT_NEUTRAL = "something"


def in_context(m: Material, reader: Reader) -> list[tuple[str, str, float]]:
    """The category the question around an unknown word suggests (a diagnostic only)."""
    out = []
    for question in m.queries["unl"]:
        for word in dict.fromkeys(_WORDS.findall(question)):
            if not reader.unknown(word, m, True):
                continue
            phrases = [p for _, p in CATEGORIES] + [CONTEXT_NEUTRAL]
            texts = [question] + [re.sub(rf"\b{re.escape(word)}\b", p, question) for p in phrases]
            vectors = reader.embedder.embed(texts)
            sims = vectors[1:] @ vectors[0]
            best = int(np.argmax(sims[:-1]))
            out.append((word, phrases[best], float(sims[best] - sims[-1])))
    return out


def with_twin(
    m: Material, reader: Reader, how: str, uncommon: bool, tau: float, tag: str
) -> Material:
    queries, vectors = {}, {}
    for which, qs in m.queries.items():
        rewritten = [reader.rewrite(q, m, how, uncommon, tau) for q in qs]
        queries[which] = rewritten
        base = m.vectors[which]
        changed = [i for i, (a, b) in enumerate(zip(qs, rewritten, strict=True)) if a != b]
        if base is None:
            vectors[which] = base
            continue
        out = base.copy()
        if changed:
            out[changed] = reader.embedder.embed([rewritten[i] for i in changed])
        vectors[which] = out
    twin = dataclasses.replace(
        m,
        name=f"{m.name}#{tag}",
        queries=queries,
        vectors=vectors,
        regulator={k: about_regulator(v) for k, v in queries.items()},
        twin=None,
    )
    return dataclasses.replace(m, twin=twin)


def shorthand_only(question: str, speller: Speller) -> str:
    """The speller's reading without its corrections: chat shorthand spelled out only."""
    return _TOKEN.sub(lambda t: _SHORTHAND.get(t.group(0).lower(), t.group(0)), question)


def names_kept(question: str, speller: Speller) -> str:
    """The speller's reading, except that a capitalised word after the first is left as it
    is (a name the corpus lacks, "Notion", is not "corrected" to a corpus word, "option")."""

    def replace(t: re.Match[str]) -> str:
        word = t.group(0)
        expanded = _SHORTHAND.get(word.lower())
        if expanded is not None:
            return expanded
        return word if t.start() > 0 and word[0].isupper() else speller.correct(word)

    return _TOKEN.sub(replace, question)


def reread(
    m: Material,
    embedder: SentenceTransformerEmbedder,
    how: Callable[[str, Speller], str],
    *,
    lexical: bool,
) -> Material:
    """The material with its questions read another way: for the dense signals always, for
    BM25 too if ``lexical``."""
    assert m.speller is not None
    speller = m.speller
    queries, vectors = dict(m.queries), dict(m.vectors)
    for which, raw in m.raw.items():
        if not raw:
            continue
        texts = [how(q, speller) for q in raw]
        vectors[which] = embedder.embed(texts)
        if lexical:
            queries[which] = texts
    return dataclasses.replace(
        m,
        name=f"{m.name}@{how.__name__}{'+bm25' if lexical else ''}",
        queries=queries,
        vectors=vectors,
        regulator={k: about_regulator(v) for k, v in queries.items()},
    )


KEYS = ("hit1", "hit3", "mrr", "refusal", "fr", "u_hit1", "u_hit3", "u_fr")


def evaluate(corpora: list[Material], idea: Idea = BASE) -> list[dict[str, float]]:
    rows = []
    for m in corpora:
        training = [o for o in corpora if o is not m]
        params, weights, auth, rule = fit(training, idea)
        r = metrics(m, idea, params, weights, auth, rule)
        r["fit"] = f"w={weights} q={rule}"  # type: ignore[assignment]
        rows.append(r)
    return rows


def held_out_gain(rows: list[dict[str, float]], left_out: int) -> float:
    """Unlisted hit@1 + hit@3 − false refusal, averaged over the corpora but one."""
    kept = [r for j, r in enumerate(rows) if j != left_out]
    return float(np.mean([r["u_hit1"] + r["u_hit3"] - r["u_fr"] for r in kept]))


def print_rows(name: str, corpora: list[Material], rows: list[dict[str, float]]) -> None:
    for m, r in zip(corpora, rows, strict=True):
        cells = " | ".join(f"{r[k]:.3f}" for k in KEYS)
        print(f"| {name} | {m.name.split('@')[0]} | {cells} | {r['fit']} |", flush=True)
    avg = " | ".join(f"{np.mean([r[k] for r in rows]):.3f}" for k in KEYS)
    print(f"| **{name}** | macro | {avg} | |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pool", type=Path)
    parser.add_argument("keep", type=Path)
    args = parser.parse_args()
    embedder = SentenceTransformerEmbedder("all-MiniLM-L6-v2")
    reader = Reader(embedder)
    corpora = [load(c, embedder, args.keep) for c in pool_corpora(args.pool)]
    print(
        "| idea | corpus | hit@1 | hit@3 | MRR | refusal | false refusal | unlisted hit@1 |"
        " unlisted hit@3 | unlisted false refusal | fit |\n|" + "---|" * 11,
        flush=True,
    )
    print_rows("base", corpora, evaluate(corpora))
    for how, lexical, label in (
        (shorthand_only, False, "dense signals on the question as asked (no spelling fixes)"),
        (shorthand_only, True, "no spelling fixes at all"),
        (names_kept, True, "spelling fixes skip capitalised words after the first"),
    ):
        reread_corpora = [reread(m, embedder, how, lexical=lexical) for m in corpora]
        print_rows(label, reread_corpora, evaluate(reread_corpora))
    for how, uncommon in (("mask", False), ("mask", True)):
        tag = f"{how}{'-uncommon' if uncommon else ''}"
        twins = [with_twin(m, reader, how, uncommon, 0.0, tag) for m in corpora]
        print_rows(f"{how}{', uncommon only' if uncommon else ''}", twins, evaluate(twins))
    signal = Idea("twin signal", signals=("dense", "sentence", "lexical", "twin"))
    for how, uncommon, tau in (("mask", False, 0.0), ("mask", True, 0.0), ("category", False, 0.2)):
        tag = f"{how}{tau}{'-uncommon' if uncommon else ''}"
        twins = [
            dataclasses.replace(with_twin(m, reader, how, uncommon, tau, tag), twin_max=False)
            for m in corpora
        ]
        label = f"{how}{f' ≥ {tau}' if tau else ''}{', uncommon only' if uncommon else ''}"
        print_rows(f"{label}: its dense score a fourth signal", twins, evaluate(twins, signal))
    for uncommon in (False, True):
        per_tau = {}
        for tau in TAUS:
            tag = f"cat{tau}{'-uncommon' if uncommon else ''}"
            twins = [with_twin(m, reader, "category", uncommon, tau, tag) for m in corpora]
            per_tau[tau] = (twins, evaluate(twins))
            label = f"category ≥ {tau}{', uncommon only' if uncommon else ''}"
            print_rows(label, twins, per_tau[tau][1])
        # τ chosen held out: best on the other corpora's unlisted set.
        chosen = []
        for i in range(len(corpora)):
            gains = {tau: held_out_gain(per_tau[tau][1], i) for tau in TAUS}
            best = max(TAUS, key=gains.__getitem__)
            row = dict(per_tau[best][1][i])
            row["fit"] = f"τ={best} {row['fit']}"  # type: ignore[assignment]
            chosen.append(row)
        label = f"category, τ fitted held out{', uncommon only' if uncommon else ''}"
        print_rows(label, corpora, chosen)
    print("\nUnknown words of the unlisted sets (margin over the neutral anchor, category):")
    for m in corpora:
        words = sorted({w for q in m.queries["unl"] for w in _WORDS.findall(q)})
        unknown = [w for w in words if reader.unknown(w, m, False)]
        reader.margin(unknown)
        shown = ", ".join(
            f"{w} {reader.margins[w][0]:+.2f} {CATEGORIES[reader.margins[w][1]][1]}"
            + ("" if reader.unknown(w, m, True) else " (common)")
            for w in unknown
        )
        print(f"- {m.name}: {shown}")
    print(
        "\nIn context: each uncommon unknown word of an unlisted question replaced by each"
        f" category's phrase and by {CONTEXT_NEUTRAL!r}; the category whose question stays"
        " closest to the original, and its margin over the neutral replacement:"
    )
    for m in corpora:
        shown = ", ".join(
            f"{word} → {phrase} {margin:+.2f}" for word, phrase, margin in in_context(m, reader)
        )
        print(f"- {m.name}: {shown}")


if __name__ == "__main__":
    main()
