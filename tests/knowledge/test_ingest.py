"""Ingestion on the real stack: Chroma on a temporary folder and the real embedding model."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from bot.errors import ConfigurationError, KnowledgeIndexError
from bot.models import Status
from knowledge.embedding import Embedder
from tests.helpers import write_text_pdf

POLICY = "example-genai-policy.md"
RETENTION_QUESTION = "how long are copilot chat histories kept before deletion?"


def cited_sections(answer) -> list[str]:
    return [c.section for c in answer.citations]


def test_first_ingest_then_unchanged_reingest_embeds_nothing(make_engine, sources: Path) -> None:
    engine = make_engine(sources=[sources])
    first = engine.ingest()
    assert first.documents == 4 and first.failed == []
    assert first.added > 50 and first.updated == first.removed == first.unchanged == 0

    again = engine.ingest()
    assert again.as_json()["chunks"] == {
        "added": 0,
        "updated": 0,
        "removed": 0,
        "unchanged": first.added,
    }
    assert again.embedded == 0
    assert again.collection == first.collection


def test_editing_one_section_updates_only_that_section(make_engine, sources: Path) -> None:
    engine = make_engine(sources=[sources])
    engine.ingest()
    before = engine.answerer.answer(RETENTION_QUESTION)
    assert before.status is Status.ANSWERED
    assert "5.3 Retention of prompts and outputs" in before.citations[0].section
    assert "30 days" in before.text

    policy = sources / POLICY
    policy.write_text(
        policy.read_text(encoding="utf-8").replace(
            "Microsoft 365 Copilot conversations are deleted automatically after 30 days",
            "Microsoft 365 Copilot conversations are deleted automatically after 14 days",
        ),
        encoding="utf-8",
    )
    report = engine.ingest()
    assert (report.added, report.updated, report.removed) == (0, 1, 0)
    assert report.embedded == 1

    after = engine.answerer.answer(RETENTION_QUESTION)
    assert "14 days" in after.text
    assert "14 days" in after.citations[0].text
    stored = [
        c
        for c in engine.index.chunks()
        if c.section.endswith("5.3 Retention of prompts and outputs")
    ]
    assert len(stored) == 1 and "after 30 days; ChatGPT" not in stored[0].text


def test_deleted_file_disappears_from_answers(make_engine, sources: Path) -> None:
    engine = make_engine(sources=[sources])
    engine.ingest()
    question = "what does DPP4 say about security of personal data"
    assert any("DPP4" in s for s in cited_sections(engine.answerer.answer(question)))

    (sources / "pdpo-data-protection-principles.md").unlink()
    report = engine.ingest()
    assert report.removed > 0 and report.added == 0
    documents = {c.document for c in engine.index.chunks()}
    assert not any("Data Protection Principles" in d for d in documents)
    answer = engine.answerer.answer(question)
    assert all("Data Protection Principles" not in c.document for c in answer.citations)


def test_corrupt_pdf_is_reported_and_the_rest_ingested(make_engine, sources: Path) -> None:
    (sources / "scanned-annex.pdf").write_bytes(b"%PDF-1.7\n% truncated upload")
    write_text_pdf(
        sources / "annex-b.pdf",
        [["Annex B Printing", "1. Printing AI output", "Print AI drafts only on secure printers."]],
        title="Annex B Printing",
    )
    engine = make_engine(sources=[sources])
    report = engine.ingest()
    assert report.exit_code == 1
    assert [Path(f.path).name for f in report.failed] == ["scanned-annex.pdf"]
    assert "not a readable PDF" in report.failed[0].error
    assert report.documents == 5
    chunks = {c.section: c for c in engine.index.chunks() if c.document == "Annex B Printing"}
    assert chunks["1. Printing AI output"].location == "p. 1"


def test_a_file_that_turns_corrupt_keeps_its_previous_chunks(make_engine, sources: Path) -> None:
    engine = make_engine(sources=[sources])
    first = engine.ingest()
    (sources / "pdpo-data-protection-principles.md").write_bytes(b"\xff\xfe broken")
    report = engine.ingest()
    assert report.exit_code == 1 and report.removed == 0
    assert len(engine.index.chunks()) == first.added


class FailingEmbedder(Embedder):
    """Delegates to the real model, then fails part-way through, like a killed ingest."""

    def __init__(self, inner: Embedder, fail_after: int) -> None:
        self.inner, self.calls, self.fail_after = inner, 0, fail_after
        self.name, self.dimension = inner.name, inner.dimension

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        if self.calls > self.fail_after:
            raise KeyboardInterrupt("simulated interruption")
        return self.inner.embed(texts)


def test_interrupted_ingest_leaves_the_old_index_answering(
    make_engine, sources: Path, embedder: Embedder
) -> None:
    engine = make_engine(sources=[sources])
    engine.ingest()
    version = engine.index.version()
    before = engine.answerer.answer(RETENTION_QUESTION)

    policy = sources / POLICY
    policy.write_text(policy.read_text(encoding="utf-8").replace("30 days", "45 days"), "utf-8")
    (sources / "new.md").write_text("# New\n\n## Extra\n" + "Extra rule text. " * 30, "utf-8")
    engine.embedder = FailingEmbedder(embedder, fail_after=1)
    with pytest.raises(KeyboardInterrupt):
        engine.ingest()

    engine.index.refresh()
    assert engine.index.version() == version
    after = engine.answerer.answer(RETENTION_QUESTION)
    assert after.text == before.text and "30 days" in after.text
    names = [c.name for c in engine.index.client.list_collections()]
    assert sum(name.startswith("policybot-v") for name in names) == 1


def test_missing_source_folder_is_a_configuration_error(make_engine, tmp_path: Path) -> None:
    engine = make_engine(sources=[tmp_path / "nope"])
    with pytest.raises(ConfigurationError, match="does not exist"):
        engine.ingest()


class OtherModel(Embedder):
    name, dimension = "some/other-model", 8

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return np.ones((len(texts), 8), dtype=np.float32) / np.sqrt(8)


def test_index_built_with_another_model_is_refused(make_engine, sources: Path, embedder) -> None:
    engine = make_engine(sources=[sources])
    engine.ingest()
    from knowledge.index import KnowledgeIndex

    other = KnowledgeIndex(engine.index.client, OtherModel())
    with pytest.raises(KnowledgeIndexError, match="run `policybot ingest`"):
        other.search("anything")
