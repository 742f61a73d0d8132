"""`policybot coverage` on labelled policies, with the real embedding model.

The labelled cases live in tests/data/coverage/cases.yaml: the bundled example policy,
variants of it with sections deleted or made vague, and policies written in other styles.
Run with ``-rP`` to see the accuracy per status that ``test_labelled_policies`` prints.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml

from adapters.cli import main
from adapters.cli.coverage import format_report
from bot.answering.engine import Engine
from bot.errors import KnowledgeIndexError
from bot.settings import BUNDLED_SOURCES
from knowledge.coverage import (
    CoverageReport,
    CoverageStatus,
    NoPolicyDocumentsError,
    assess,
    coverage_changes,
    load_checklist,
    sources_from_documents,
    sources_from_folder,
    sources_from_index,
)
from knowledge.documents import Document, Section
from knowledge.embedding import Embedder
from knowledge.index import ChunkRecord
from knowledge.loaders import load_document

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "tests" / "data" / "coverage"
ISSUE_IDS = [
    "scope.tools",
    "scope.purposes",
    "scope.applicability",
    "privacy.input",
    "privacy.output_use",
    "privacy.output_storage",
    "privacy.retention",
    "privacy.other_policies",
    "ethics.unlawful",
    "ethics.accuracy",
    "ethics.bias",
    "ethics.labelling",
    "security.devices",
    "security.users",
    "security.credentials",
    "security.settings",
    "security.incidents",
    "violations.consequences",
    "support.transparency",
    "support.training",
    "support.team",
    "support.feedback",
]
_NUMBER = re.compile(r"^(\d+(?:\.\d+)*)\.?\s")


@dataclass(frozen=True)
class LabelledCase:
    name: str
    document: Document
    labels: dict[str, CoverageStatus]
    full: bool
    held_out: bool


def _number(heading: str) -> str | None:
    match = _NUMBER.match(heading)
    return match.group(1) if match else None


def edited(document: Document, delete: list[str], rewrite: dict[str, dict[str, str]]) -> Document:
    """``document`` with numbered sections deleted (with their subsections) or rewritten."""
    sections = []
    for section in document.sections:
        numbers = [_number(heading) for heading in section.path]
        if any(number in delete for number in numbers):
            continue
        change = rewrite.get(numbers[-1] or "") if numbers else None
        if change:
            section = Section((*section.path[:-1], change["heading"]), change["text"])
        sections.append(section)
    return dataclasses.replace(document, sections=tuple(sections))


def load_cases() -> list[LabelledCase]:
    spec = yaml.safe_load((CASES / "cases.yaml").read_text(encoding="utf-8"))
    cases = []
    for case in spec["cases"]:
        if "base" in case:
            document = edited(
                load_document(BUNDLED_SOURCES / case["base"], BUNDLED_SOURCES),
                [str(n) for n in case.get("delete", [])],
                {str(k): v for k, v in case.get("rewrite", {}).items()},
            )
        else:
            document = load_document(CASES / case["file"], CASES)
        labels = {item_id: CoverageStatus.COVERED for item_id in ISSUE_IDS}
        labels.update({k: CoverageStatus(v) for k, v in case.get("labels", {}).items()})
        cases.append(
            LabelledCase(
                case["name"], document, labels, bool(case.get("full")), bool(case.get("held_out"))
            )
        )
    return cases


class RememberingEmbedder(Embedder):
    """The real model, asked once per distinct text: the variants share most of their text."""

    def __init__(self, model: Embedder) -> None:
        self.model, self.name, self.dimension = model, model.name, model.dimension
        self.vectors: dict[str, np.ndarray] = {}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        new = [text for text in dict.fromkeys(texts) if text not in self.vectors]
        self.vectors.update(zip(new, self.model.embed(new), strict=True))
        return np.array([self.vectors[text] for text in texts]).reshape(len(texts), self.dimension)


@pytest.fixture(scope="module")
def results(embedder: Embedder) -> list[tuple[LabelledCase, CoverageReport]]:
    remembering = RememberingEmbedder(embedder)
    return [
        (case, assess(sources_from_documents([case.document]), remembering))
        for case in load_cases()
    ]


def test_checklist_has_exactly_the_issue_ids_and_complete_items() -> None:
    items = load_checklist()
    assert [item.id for item in items] == ISSUE_IDS
    for item in items:
        assert len(item.phrasings) >= 3 and len(item.keywords) >= 5, item.id
        assert "\n" not in item.hint and len(item.hint) <= 140, item.id


def test_labels_name_only_checklist_items() -> None:
    for case in load_cases():
        assert set(case.labels) == set(ISSUE_IDS), case.name


def test_labelled_policies(results: list[tuple[LabelledCase, CoverageReport]]) -> None:
    confusion: dict[str, Counter[tuple[str, str]]] = {
        "calibration": Counter(),
        "held out": Counter(),
    }
    full_items = full_covered = 0
    deleted_but_covered = []
    print()
    for case, report in results:
        statuses = report.statuses()
        scores = {r.item.id: r.score for r in report.items}
        right = sum(statuses[i] == label for i, label in case.labels.items())
        print(f"{case.name}: {right}/{len(case.labels)} as labelled")
        for item_id, label in case.labels.items():
            reported = statuses[item_id]
            confusion["held out" if case.held_out else "calibration"][(label, reported)] += 1
            if label != reported:
                print(
                    f"    {item_id}: labelled {label}, reported {reported} ({scores[item_id]:.3f})"
                )
            if label is CoverageStatus.MISSING and reported is CoverageStatus.COVERED:
                deleted_but_covered.append((case.name, item_id))
        if case.full:
            full_items += len(statuses)
            full_covered += sum(s is CoverageStatus.COVERED for s in statuses.values())
    for name, counts in confusion.items():
        print(f"accuracy per labelled status, {name} cases [reported covered, weak, missing]:")
        for label in CoverageStatus:
            row = [counts[(label, reported)] for reported in CoverageStatus]
            if sum(row):
                print(f"    {label:<8} {counts[(label, label)] / sum(row):.2f}  {row}")
    print(f"full policies: {full_covered}/{full_items} items covered")

    assert deleted_but_covered == []
    assert full_covered >= 0.9 * full_items


def test_report_json_has_the_documented_shape(
    results: list[tuple[LabelledCase, CoverageReport]],
) -> None:
    case, report = next(
        (c, r) for c, r in results if c.name.startswith("example without retention")
    )
    data = json.loads(json.dumps(report.as_json()))
    assert set(data) == {"items", "counts", "policy_documents", "excluded_documents"}
    assert [row["id"] for row in data["items"]] == ISSUE_IDS
    assert sum(data["counts"].values()) == len(ISSUE_IDS)
    for row in data["items"]:
        assert set(row) == {"id", "heading", "item", "status", "score", "evidence", "hint"}
        assert (row["hint"] is None) == (row["status"] == "covered")
        for evidence in row["evidence"]:
            assert set(evidence) == {"document", "section", "version", "score"}
    tools = next(row for row in data["items"] if row["id"] == "scope.tools")
    assert "2. Permitted tools › 2.1 Approved AI tools" in [e["section"] for e in tools["evidence"]]
    assert {e["version"] for e in tools["evidence"]} == {"2.1"}
    assert data["policy_documents"][0]["reason"] == "front matter says kind: policy"


def test_table_names_status_evidence_and_hint(
    results: list[tuple[LabelledCase, CoverageReport]],
) -> None:
    _, report = next((c, r) for c, r in results if c.name.startswith("example without retention"))
    table = format_report(report)
    retention = next(r for r in report.items if r.item.id == "privacy.retention")
    assert retention.status is not CoverageStatus.COVERED
    assert f"hint: {retention.item.hint}" in " ".join(table.split())
    assert "[1] 2. Permitted tools › 2.1 Approved AI tools" in table
    assert "Checked as the organisation's policy (1):\n  [1] Harbourview Trading Limited" in table
    assert (
        ", version 2.1 (https://example.com/policies/genai): front matter says kind: policy"
        in table
    )


def test_coverage_changes_between_runs(results: list[tuple[LabelledCase, CoverageReport]]) -> None:
    before = results[0][1]
    after = next(r for c, r in results if c.name.startswith("example without retention"))
    changes = coverage_changes(before, after)
    changed = {c.item_id for c in changes}
    assert "privacy.retention" in changed
    assert all(c.before is CoverageStatus.COVERED for c in changes)
    retention = next(c for c in changes if c.item_id == "privacy.retention")
    assert str(retention) == f"privacy.retention: covered → {retention.after}"
    # A run stored as JSON (e.g. with the last ingest report) compares the same way.
    assert coverage_changes(before.as_json(), after) == changes
    assert coverage_changes(after, after.as_json()) == []


def test_guidance_is_excluded_and_each_document_says_why(tmp_path: Path) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "guide.md").write_bytes(
        (BUNDLED_SOURCES / "pcpd-genai-checklist-guide.md").read_bytes()
    )
    (folder / "rules.md").write_text(
        "# Our AI rules\n\n## Tools\nOnly approved AI tools.\n", "utf-8"
    )
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    sources = sources_from_folder(folder)
    verdicts = {d.source: d for d in sources.documents}
    assert verdicts["rules.md"].is_policy
    assert verdicts["rules.md"].reason == "no kind in its front matter, so it is treated as policy"
    guide = next(d for d in sources.documents if d.kind == "guidance")
    assert not guide.is_policy and "kind: guidance" in guide.reason
    assert {s.document for s in sources.sections} == {"Our AI rules"}
    assert [Path(path).name for path, _ in sources.failures] == ["broken.pdf"]


def test_index_path_checks_only_policy_chunks(engine: Engine) -> None:
    sources = sources_from_index(engine.index.chunks(), "test index")
    assert [d.document for d in sources.documents if d.is_policy] == [
        "Harbourview Trading Limited – Policy on Employees' Use of Generative AI"
    ]
    assert sum(not d.is_policy for d in sources.documents) == 3
    assert all(s.source == "https://example.com/policies/genai" for s in sources.sections)


def chunk(kind: str) -> ChunkRecord:
    return ChunkRecord(
        id=kind,
        document=f"A {kind}",
        section="1. Tools",
        version=None,
        source=f"{kind}.md",
        text="Only approved tools.",
        location=None,
        kind=kind,
        content_hash=kind,
        path=f"{kind}.md",
    )


def test_index_without_policy_or_chunks_is_an_error_that_says_what_to_do() -> None:
    with pytest.raises(NoPolicyDocumentsError, match="no policy documents, only guidance"):
        sources_from_index([chunk("guidance")], "idx")
    with pytest.raises(KnowledgeIndexError, match="policybot ingest"):
        sources_from_index([], "idx")
    assert [
        d.is_policy
        for d in sources_from_index([chunk("policy"), chunk("guidance")], "idx").documents
    ] == [True, False]


def test_cli_json_on_the_ingested_index(engine: Engine, tmp_path: Path) -> None:
    index_dir = engine.settings.resolved_index_dir
    env = {**os.environ, "POLICYBOT_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "coverage", "--index", str(index_dir), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["counts"] == {"covered": 22, "weak": 0, "missing": 0}
    assert [d["kind"] for d in data["policy_documents"]] == ["policy"]
    assert sorted(d["kind"] for d in data["excluded_documents"]) == ["guidance"] * 3


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["coverage", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_missing_source_folder_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["--source", str(tmp_path / "nowhere")], capsys)
    assert (code, out) == (2, "")
    assert "nowhere does not exist" in err and "--source" in err


def test_folder_without_policy_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "guide.md").write_bytes(
        (BUNDLED_SOURCES / "pdpo-data-protection-principles.md").read_bytes()
    )
    code, out, err = run_cli(["--source", str(tmp_path), "--json"], capsys)
    assert (code, out) == (2, "")
    assert "no policy documents found" in err and "none of them policy" in err
    assert "kind: guidance" in err

    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, err = run_cli(["--source", str(empty)], capsys)
    assert (code, out) == (2, "")
    assert "no policy documents found" in err and "no readable document" in err


def test_empty_index_exits_2_and_says_to_ingest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(["--index", str(tmp_path / "index")], capsys)
    assert (code, out) == (2, "")
    assert "is empty" in err and "policybot ingest" in err


def test_source_and_index_are_exclusive(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["coverage", "--source", str(tmp_path), "--index", str(tmp_path)])
    assert exit_info.value.code == 2
