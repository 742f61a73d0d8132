"""Does the organisation's policy cover every item of the PCPD's GenAI checklist?

The checklist is data (``knowledge/checklist.yaml``): per item, phrasings a covering section
might contain and keywords it tends to use. Only the organisation's policy documents are
evidence; the PCPD/PDPO guidance describes the checklist, so it would "cover" everything.

Every sentence and paragraph of the policy, with its section heading in front, is scored
against every item: semantic similarity to the item's phrasings, raised or lowered by how much
closer it is to this item than to the nearest other one (text about "AI tools" in general is
near all items and should prove none), plus the count of the item's keywords it contains. A
section scores as its best unit and an item as its best section; two thresholds turn the
score into ``covered``, ``weak`` or ``missing``. Scoring and thresholds were calibrated on the
labelled policies in ``tests/data/coverage`` (see ``docs/coverage.md``). Everything runs
offline and deterministically with the project's embedding model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from bot.errors import ConfigurationError, DocumentError, KnowledgeIndexError, PolicyBotError
from knowledge.chunking import chunk_document, split_sentences
from knowledge.documents import SECTION_SEPARATOR, Document
from knowledge.embedding import Embedder
from knowledge.index import ChunkRecord
from knowledge.loaders import iter_source_files, load_document

CHECKLIST_PATH = Path(__file__).resolve().parent / "checklist.yaml"
POLICY_KIND = "policy"
MAX_EVIDENCE = 3


class CoverageStatus(StrEnum):
    """``weak``: the policy touches the item without saying anything concrete about it."""

    COVERED = "covered"
    WEAK = "weak"
    MISSING = "missing"


class NoPolicyDocumentsError(PolicyBotError):
    """There is nothing to check: every document found is guidance, or none was found."""


@dataclass(frozen=True)
class ChecklistItem:
    """One thing an employer's GenAI policy should say; ``id`` is stable across releases."""

    id: str
    heading: str
    item: str
    phrasings: tuple[str, ...]
    keywords: tuple[str, ...]
    hint: str


@dataclass(frozen=True)
class Thresholds:
    """Score at or above ``covered`` is covered; at or above ``weak`` is weak; else missing."""

    covered: float
    weak: float

    def status(self, score: float) -> CoverageStatus:
        if score >= self.covered:
            return CoverageStatus.COVERED
        if score >= self.weak:
            return CoverageStatus.WEAK
        return CoverageStatus.MISSING


DEFAULT_THRESHOLDS = Thresholds(covered=0.58, weak=0.50)


@dataclass(frozen=True)
class PolicySection:
    """A section (or part of a long one) of a policy document: the unit of evidence."""

    document: str
    section: str
    version: str | None
    source: str
    text: str


@dataclass(frozen=True)
class PolicyDocument:
    """A document found in the sources and whether it was treated as the organisation's policy."""

    document: str
    source: str
    version: str | None
    kind: str
    is_policy: bool
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {
            "document": self.document,
            "source": self.source,
            "version": self.version,
            "kind": self.kind,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Evidence:
    """A section that matches an item; ``source`` tells apart documents with the same title."""

    document: str
    section: str
    version: str | None
    source: str
    score: float

    def as_json(self) -> dict[str, Any]:
        return {
            "document": self.document,
            "section": self.section,
            "version": self.version,
            "score": round(self.score, 3),
        }


@dataclass(frozen=True)
class ItemResult:
    """The verdict on one checklist item, with the sections that support it, best first."""

    item: ChecklistItem
    status: CoverageStatus
    score: float
    evidence: tuple[Evidence, ...]

    @property
    def hint(self) -> str | None:
        return None if self.status is CoverageStatus.COVERED else self.item.hint

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.item.id,
            "heading": self.item.heading,
            "item": self.item.item,
            "status": str(self.status),
            "score": round(self.score, 3),
            "evidence": [e.as_json() for e in self.evidence],
            "hint": self.hint,
        }


@dataclass(frozen=True)
class CoverageReport:
    """Every checklist item's verdict and the documents the verdicts rest on."""

    items: tuple[ItemResult, ...]
    documents: tuple[PolicyDocument, ...]

    @property
    def policy_documents(self) -> tuple[PolicyDocument, ...]:
        return tuple(d for d in self.documents if d.is_policy)

    @property
    def excluded_documents(self) -> tuple[PolicyDocument, ...]:
        return tuple(d for d in self.documents if not d.is_policy)

    def counts(self) -> dict[str, int]:
        return {
            str(status): sum(r.status is status for r in self.items) for status in CoverageStatus
        }

    def statuses(self) -> dict[str, CoverageStatus]:
        return {r.item.id: r.status for r in self.items}

    def as_json(self) -> dict[str, Any]:
        return {
            "items": [r.as_json() for r in self.items],
            "counts": self.counts(),
            "policy_documents": [d.as_json() for d in self.policy_documents],
            "excluded_documents": [d.as_json() for d in self.excluded_documents],
        }


def load_checklist(path: Path = CHECKLIST_PATH) -> tuple[ChecklistItem, ...]:
    """The checklist items in file order; a malformed file raises :class:`ConfigurationError`."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"cannot read the checklist {path}: {exc}") from exc
    rows = data.get("items") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not rows:
        raise ConfigurationError(f"{path} must have a non-empty list under 'items'")
    items: list[ChecklistItem] = []
    for number, row in enumerate(rows, start=1):
        fields = ("id", "heading", "item", "phrasings", "keywords", "hint")
        if not isinstance(row, dict) or any(not row.get(name) for name in fields):
            raise ConfigurationError(
                f"{path}: item {number} needs all of {', '.join(fields)} (non-empty)"
            )
        items.append(
            ChecklistItem(
                id=str(row["id"]),
                heading=str(row["heading"]),
                item=str(row["item"]),
                phrasings=tuple(str(p) for p in row["phrasings"]),
                keywords=tuple(str(k) for k in row["keywords"]),
                hint=str(row["hint"]),
            )
        )
    ids = [item.id for item in items]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ConfigurationError(f"{path}: duplicate item ids {', '.join(duplicates)}")
    return tuple(items)


@dataclass(frozen=True)
class PolicySources:
    """What a coverage run checks: the policy sections, and every document with its verdict."""

    sections: tuple[PolicySection, ...]
    documents: tuple[PolicyDocument, ...]
    failures: tuple[tuple[str, str], ...] = ()


def classify_document(document: Document) -> PolicyDocument:
    """Policy unless the front matter declares another kind (``kind: guidance``)."""
    declared = document.metadata.get("kind")
    kind = declared or POLICY_KIND
    if declared is None:
        reason = "no kind in its front matter, so it is treated as policy"
    elif kind == POLICY_KIND:
        reason = "front matter says kind: policy"
    elif kind == "guidance":
        reason = "front matter says kind: guidance (regulator's guidance, not your policy)"
    else:
        reason = f"front matter says kind: {kind}, not policy"
    return PolicyDocument(
        document=document.title,
        source=document.source,
        version=document.version,
        kind=kind,
        is_policy=kind == POLICY_KIND,
        reason=reason,
    )


def _sections_of(document: Document) -> list[PolicySection]:
    return [
        PolicySection(
            document=chunk.document,
            section=chunk.section,
            version=chunk.version,
            source=chunk.source,
            text=chunk.text,
        )
        for chunk in chunk_document(document)
    ]


def sources_from_documents(
    documents: Iterable[Document], failures: Sequence[tuple[str, str]] = ()
) -> PolicySources:
    """Classify loaded documents and keep the sections of those that are policy."""
    sections: list[PolicySection] = []
    verdicts: list[PolicyDocument] = []
    for document in documents:
        verdict = classify_document(document)
        verdicts.append(verdict)
        if verdict.is_policy:
            sections.extend(_sections_of(document))
    return PolicySources(tuple(sections), tuple(verdicts), tuple(failures))


def sources_from_folder(root: Path) -> PolicySources:
    """Load every supported file below ``root``; unreadable files are listed in ``failures``.

    Raises :class:`ConfigurationError` if the folder does not exist and
    :class:`NoPolicyDocumentsError` if no document in it is policy.
    """
    if not root.is_dir():
        raise ConfigurationError(
            f"source folder {root} does not exist; pass --source with the folder of your "
            "policy documents"
        )
    documents: list[Document] = []
    failures: list[tuple[str, str]] = []
    for path in iter_source_files(root):
        try:
            documents.append(load_document(path, root))
        except DocumentError as exc:
            failures.append((str(path), str(exc)))
    sources = sources_from_documents(documents, failures)
    if not sources.sections:
        found = (
            f"{len(documents)} readable document(s), none of them policy"
            if documents
            else "no readable document"
        )
        raise NoPolicyDocumentsError(
            f"no policy documents found in {root} ({found}); add your organisation's GenAI "
            "policy (Markdown, text, HTML, PDF or DOCX) to it; a document is treated as "
            "policy unless its front matter says otherwise (e.g. kind: guidance)"
        )
    return sources


def empty_index_error(location: str) -> KnowledgeIndexError:
    return KnowledgeIndexError(
        f"the index at {location} is empty: run `policybot ingest` (or ingest.py) first, "
        "or pass --source with the folder of your policy documents"
    )


def sources_from_index(chunks: Sequence[ChunkRecord], location: str) -> PolicySources:
    """The ingested chunks whose ``kind`` is policy, grouped into documents.

    Raises :class:`KnowledgeIndexError` if the index is empty and
    :class:`NoPolicyDocumentsError` if it holds only guidance.
    """
    if not chunks:
        raise empty_index_error(location)
    documents: dict[tuple[str, str], PolicyDocument] = {}
    sections: list[PolicySection] = []
    for chunk in chunks:
        is_policy = chunk.kind == POLICY_KIND
        key = (chunk.source, chunk.document)
        if key not in documents:
            documents[key] = PolicyDocument(
                document=chunk.document,
                source=chunk.source,
                version=chunk.version,
                kind=chunk.kind,
                is_policy=is_policy,
                reason=(
                    "ingested as kind: policy (its front matter says so, or says no kind)"
                    if is_policy
                    else f"ingested as kind: {chunk.kind}, not policy"
                ),
            )
        if is_policy:
            sections.append(
                PolicySection(
                    document=chunk.document,
                    section=chunk.section,
                    version=chunk.version,
                    source=chunk.source,
                    text=chunk.text,
                )
            )
    if not sections:
        raise NoPolicyDocumentsError(
            f"the index at {location} holds no policy documents, only "
            f"{', '.join(sorted({d.kind for d in documents.values()}))}: ingest your "
            "organisation's GenAI policy (`policybot ingest --source DIR`), or pass --source"
        )
    return PolicySources(tuple(sections), tuple(documents.values()))


@dataclass(frozen=True)
class Scoring:
    """How a unit of policy text is scored against an item; calibrated with the thresholds.

    ``margin``: weight of how much closer a unit is to this item than to its nearest rival
    item (generic text such as "use AI tools responsibly" is close to every item, so it
    earns little). ``semantic``: share of the semantic part; the rest is keyword evidence,
    ``k / (k + keyword_saturation)`` for ``k`` distinct keywords found in the unit.
    """

    margin: float = 2.0
    semantic: float = 0.4
    keyword_saturation: float = 2.0


DEFAULT_SCORING = Scoring()


@dataclass(frozen=True)
class _Unit:
    """A sentence or a paragraph of a section, with the section's own heading in front."""

    section: int
    text: str


def _units(sections: Sequence[PolicySection]) -> list[_Unit]:
    """Sentences catch a one-line rule; paragraphs catch a rule spread over a list item.

    The heading goes in front because many sections say what they are about only there
    ("Can I use my own phone?" followed by "No.").
    """
    units: list[_Unit] = []
    for position, section in enumerate(sections):
        heading = section.section.split(SECTION_SEPARATOR)[-1]
        prefix = f"{heading}: " if heading else ""
        paragraphs = [p for p in section.text.split("\n\n") if p.strip()]
        pieces = dict.fromkeys([*split_sentences(section.text), *paragraphs])
        units.extend(_Unit(position, prefix + piece) for piece in pieces)
    return units


def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    words = re.findall(r"[a-z0-9]+\*?", keyword.lower())
    parts = [re.escape(w.rstrip("*")) + (r"\w*" if w.endswith("*") else r"\b") for w in words]
    return re.compile(r"\b" + r"\W+".join(parts))


_PHRASING_VECTORS: dict[tuple[str, int, tuple[str, ...]], np.ndarray] = {}


def _embed_phrasings(embedder: Embedder, phrasings: tuple[str, ...]) -> np.ndarray:
    """The checklist's vectors, once per model: repeated runs embed only the policy."""
    key = (embedder.name, embedder.dimension, phrasings)
    if key not in _PHRASING_VECTORS:
        if len(_PHRASING_VECTORS) >= 4:
            _PHRASING_VECTORS.clear()
        _PHRASING_VECTORS[key] = embedder.embed(phrasings)
    return _PHRASING_VECTORS[key]


def score_matrix(
    items: Sequence[ChecklistItem],
    sections: Sequence[PolicySection],
    embedder: Embedder,
    *,
    scoring: Scoring = DEFAULT_SCORING,
) -> np.ndarray:
    """Match score of every (item, section) pair, shape ``(len(items), len(sections))``.

    A section scores as its best unit (sentence or paragraph); a unit scores
    ``semantic * (sim + margin * (sim - rival)) + (1 - semantic) * keyword evidence``, where
    ``sim`` is its best cosine similarity to the item's phrasings and ``rival`` the same for
    the closest other item.
    """
    scores = np.full((len(items), len(sections)), -1.0, dtype=np.float32)
    units = _units(sections)
    if not items or not units:
        return scores
    phrasings = [(row, text) for row, item in enumerate(items) for text in item.phrasings]
    owner = np.array([row for row, _ in phrasings])
    phrasing_vectors = _embed_phrasings(embedder, tuple(text for _, text in phrasings))
    similarity = phrasing_vectors @ embedder.embed([unit.text for unit in units]).T
    per_item = np.stack([similarity[owner == row].max(axis=0) for row in range(len(items))])
    if len(items) > 1:
        top_two = np.sort(per_item, axis=0)[-2:]
        rival = np.where(per_item == top_two[1], top_two[0], top_two[1])
    else:
        rival = per_item
    semantic = per_item + scoring.margin * (per_item - rival)
    lowered = [unit.text.lower() for unit in units]
    keywords = np.array(
        [
            [sum(bool(p.search(text)) for p in patterns) for text in lowered]
            for patterns in ([_keyword_pattern(k) for k in item.keywords] for item in items)
        ],
        dtype=np.float32,
    )
    evidence = keywords / (keywords + scoring.keyword_saturation)
    # Clipped so that a report reads as 0..1; both thresholds lie well inside.
    unit_scores = np.clip(scoring.semantic * semantic + (1 - scoring.semantic) * evidence, 0, 1)
    section_of = np.array([unit.section for unit in units])
    for row in range(len(items)):
        np.maximum.at(scores[row], section_of, unit_scores[row])
    return scores


def assess(
    sources: PolicySources,
    embedder: Embedder,
    *,
    checklist: Sequence[ChecklistItem] | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    scoring: Scoring = DEFAULT_SCORING,
) -> CoverageReport:
    """Score every checklist item against the policy sections and classify it."""
    items = tuple(checklist) if checklist is not None else load_checklist()
    scores = score_matrix(items, sources.sections, embedder, scoring=scoring)
    results = []
    for row, item in enumerate(items):
        best = float(scores[row].max()) if scores.shape[1] else 0.0
        evidence = _evidence(sources.sections, scores[row], floor=thresholds.weak)
        results.append(
            ItemResult(item=item, status=thresholds.status(best), score=best, evidence=evidence)
        )
    return CoverageReport(items=tuple(results), documents=sources.documents)


def _evidence(
    sections: Sequence[PolicySection], scores: np.ndarray, *, floor: float
) -> tuple[Evidence, ...]:
    """Best sections at or above ``floor``, one per (document, section), best first."""
    chosen: dict[tuple[str, str, str], Evidence] = {}
    for column in np.argsort(-scores):
        score = float(scores[column])
        if score < floor or len(chosen) >= MAX_EVIDENCE:
            break
        section = sections[column]
        key = (section.source, section.document, section.section)
        if key not in chosen:
            chosen[key] = Evidence(
                section.document, section.section, section.version, section.source, score
            )
    return tuple(chosen.values())


@dataclass(frozen=True)
class CoverageChange:
    """An item whose status differs between two runs; ``None`` = not in that run's checklist."""

    item_id: str
    before: CoverageStatus | None
    after: CoverageStatus | None

    def __str__(self) -> str:
        return f"{self.item_id}: {self.before or 'absent'} → {self.after or 'absent'}"


def coverage_changes(
    before: CoverageReport | Mapping[str, Any], after: CoverageReport | Mapping[str, Any]
) -> list[CoverageChange]:
    """Items whose status changed between two runs, in the later run's checklist order.

    Either run may be a :class:`CoverageReport` or its ``as_json()`` form (e.g. stored with
    the previous ingest report), so the ingest report and the web console can compare a
    new run with one they kept.
    """
    old, new = _statuses(before), _statuses(after)
    order = list(new) + [item_id for item_id in old if item_id not in new]
    return [
        CoverageChange(item_id, old.get(item_id), new.get(item_id))
        for item_id in order
        if old.get(item_id) != new.get(item_id)
    ]


def _statuses(report: CoverageReport | Mapping[str, Any]) -> dict[str, CoverageStatus]:
    if isinstance(report, CoverageReport):
        return report.statuses()
    return {str(row["id"]): CoverageStatus(row["status"]) for row in report["items"]}


def sources_before(after: PolicySources, changes: Sequence[Any]) -> PolicySources:
    """The policy sections as they were before ``changes`` (an ingest's
    :class:`knowledge.changes.SectionChange` list): added sections taken out, changed ones
    back to their old text, removed ones back in. Matched by document title and section."""
    touched = {(change.document, change.section) for change in changes}
    kept = [s for s in after.sections if (s.document, s.section) not in touched]
    versions = {s.document: s.version for s in after.sections}
    sources = {s.document: s.source for s in after.sections}
    for change in changes:
        if change.change != "added" and change.old_text:
            kept.append(
                PolicySection(
                    document=change.document,
                    section=change.section,
                    version=change.old_version or versions.get(change.document),
                    source=sources.get(change.document, change.path),
                    text=change.old_text,
                )
            )
    return PolicySources(tuple(kept), after.documents)


def coverage_shift(
    after: PolicySources, changes: Sequence[Any], embedder: Embedder
) -> dict[str, Any]:
    """The checklist coverage after an ingest and how its changes moved it: ``counts`` per
    status after and before, each item's status after, and the items whose status changed."""
    now = assess(after, embedder)
    before = assess(sources_before(after, changes), embedder)
    return {
        "counts": now.counts(),
        "counts_before": before.counts(),
        "items": [{"id": r.item.id, "status": str(r.status)} for r in now.items],
        "changed": [
            {
                "item": c.item_id,
                "before": str(c.before) if c.before else None,
                "after": str(c.after) if c.after else None,
            }
            for c in coverage_changes(before, now)
        ],
    }
