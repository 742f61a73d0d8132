"""The versioned document store: uploads kept in the shared database with their history,
read by an ingest in another process, and each ingest's section changes recorded once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from adapters.cli import main as cli_main
from bot.answering.engine import Engine
from bot.answering.stale import stale_answers
from bot.settings import BUNDLED_SOURCES, Settings
from bot.store import Store
from bot.store.documents import DocumentStore, LoadedSource
from bot.store.schema import AnswerRow, DocumentVersionRow, PolicyDocumentRow, SectionChangeRow
from knowledge.changes import CHANGED, SectionChange
from knowledge.embedding import Embedder
from knowledge.index import KnowledgeIndex, make_client

ROOT = Path(__file__).resolve().parents[3]
POLICY = "example-genai-policy.md"
ORIGINAL = "Never enter personal data into a public chatbot."


def counts(store: Store) -> tuple[int, int, int]:
    with store.engine.connect() as connection:
        return tuple(  # type: ignore[return-value]
            connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in (
                PolicyDocumentRow.__table__,
                DocumentVersionRow.__table__,
                SectionChangeRow.__table__,
            )
        )


def test_a_same_name_upload_keeps_the_previous_version(store: Store) -> None:
    documents = DocumentStore(store)
    first = documents.add_upload("rules.md", b"# Rules\n\nOne.\n", uploaded_by="ada")
    again = documents.add_upload("rules.md", b"# Rules\n\nOne.\n", uploaded_by="ada")
    second = documents.add_upload("rules.md", b"# Rules\n\nTwo.\n", uploaded_by="bob")

    assert again.number == first.number == 1, "the same bytes again add no version"
    assert second.number == 2
    assert [v.number for v in documents.versions("rules.md")] == [2, 1]
    assert documents.content("rules.md", 1) == b"# Rules\n\nOne.\n"
    assert documents.content("rules.md") == b"# Rules\n\nTwo.\n"
    assert counts(store) == (1, 2, 0)


def test_recording_an_unchanged_ingest_writes_nothing(store: Store) -> None:
    documents = DocumentStore(store)
    source = LoadedSource(
        name="a.md",
        data=b"---\nversion: '3'\neffective: 2026-01-01\n---\n# A\n\ntext\n",
        title="A",
        declared="3",
        effective="2026-01-01",
        origin="folder",
    )
    change = SectionChange("a.md", "A", "", CHANGED, "old", "text", "2", "3")
    [recorded] = documents.record_ingest([source], [change])
    # No earlier version in the store: the old version is the one the index cited.
    assert (recorded.old_version, recorded.new_version, recorded.effective) == (
        "2",
        "3",
        "2026-01-01",
    )
    assert counts(store) == (1, 1, 1)

    assert documents.record_ingest([source], []) == []
    assert counts(store) == (1, 1, 1), "a no-op ingest writes no version and no change"

    # The file disappears: the document leaves the index; the history stays.
    documents.record_ingest([], [])
    [stored] = documents.documents()
    assert stored.indexed is False and stored.latest is not None and stored.latest.declared == "3"


def test_changes_since_a_version_or_a_date(store: Store) -> None:
    documents = DocumentStore(store)
    one = LoadedSource("p.md", b"v1", "P", "1.0", "2026-01-01", "folder")
    two = LoadedSource("p.md", b"v2", "P", "2.0", "2026-03-01", "folder")
    documents.record_ingest(
        [one], [SectionChange("p.md", "P", "A", "added", None, "a", None, "1.0")]
    )
    documents.record_ingest(
        [two], [SectionChange("p.md", "P", "B", "added", None, "b", None, "2.0")]
    )

    assert [c.section for c in documents.changes()] == ["A", "B"]
    assert [c.section for c in documents.changes(since="1.0")] == ["B"]
    assert [c.section for c in documents.changes(since="2026-02-15")] == ["B"]
    assert documents.changes(document="nothing-like-it") == []
    with pytest.raises(Exception, match="no ingested version '9.9'"):
        documents.changes(since="9.9")


def _environment(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "POLICYBOT_DATA_DIR": str(settings.data_dir),
        "POLICYBOT_DATABASE_URL": settings.resolved_database_url,
    }


def test_an_upload_in_one_process_is_ingested_by_another(
    store: Store, store_settings: Settings, tmp_path: Path, embedder: Embedder
) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "base.md").write_text("# Base rules\n\n## Scope\n\nThese rules cover all staff.\n")
    upload = (
        b"---\ntitle: Meeting transcription rules\nversion: '1.1'\n---\n"
        b"## Otter.ai\n\nOtter.ai may transcribe internal meetings when every participant agrees.\n"
    )
    DocumentStore(store).add_upload("transcription.md", upload, uploaded_by="ada")  # process A

    result = subprocess.run(  # process B: the ingest job, with only the folder configured
        [sys.executable, "ingest.py", "--source", str(folder), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_environment(store_settings),
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["documents"] == 2 and report["failed"] == []

    index = KnowledgeIndex(
        make_client(index_dir=store_settings.resolved_index_dir, chroma_url=None), embedder
    )
    paths = {chunk.path for chunk in index.chunks()}
    assert paths == {"base.md", "transcription.md"}
    [stored] = [d for d in DocumentStore(store).documents() if d.name == "transcription.md"]
    assert stored.indexed and stored.latest is not None
    assert stored.latest.ingested_at is not None and stored.latest.declared == "1.1"


def _edit_one_section(sources: Path) -> str:
    path = sources / POLICY
    text = path.read_text(encoding="utf-8")
    assert ORIGINAL in text
    path.write_text(
        text.replace(ORIGINAL, "Do not enter personal data into any public chatbot.", 1)
    )
    return text


def test_one_edited_section_is_recorded_once_and_a_no_op_records_nothing(
    engine: Engine,
    make_engine,
    store: Store,
    store_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sources = tmp_path / "sources"
    shutil.copytree(BUNDLED_SOURCES, sources)
    # The session's index of the bundled sources, so the first ingest below changes nothing.
    shutil.copytree(engine.settings.resolved_index_dir, tmp_path / "data" / "index")
    first = make_engine(sources=[sources], database_url=store_settings.resolved_database_url)
    baseline = first.ingest()
    assert baseline.changes == [] and baseline.as_json()["changes"] == []
    assert counts(store)[2] == 0

    _edit_one_section(sources)
    edited = first.ingest()
    [change] = edited.changes
    assert change.path == POLICY and change.change == CHANGED
    assert (
        change.section.endswith("4.2 Personal data")
        and "Do not enter personal data into any public" in change.new_text
    )
    assert change.old_version == change.new_version == "2.1"
    assert "[-Never-] {+Do not+}" in change.diff and "{+any+}" in change.diff
    assert edited.as_json()["changes"][0]["section"] == change.section

    # Another process (its own engine and connections) ingests the same state: nothing new.
    second = make_engine(sources=[sources], database_url=store_settings.resolved_database_url)
    assert second.ingest().changes == []
    assert counts(store)[2] == 1

    monkeypatch.setenv("POLICYBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("POLICYBOT_DATABASE_URL", store_settings.resolved_database_url)
    assert cli_main(["changes", "--json"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    shown = json.loads(line)
    assert {
        "document",
        "section",
        "change",
        "old_version",
        "new_version",
        "effective",
        "diff",
    } <= set(shown)
    assert shown["change"] == "changed" and shown["effective"] == "2025-10-01"
    # The edit kept the declared version: the changes since the first ingest of 2.1 hold it.
    assert cli_main(["changes", "--since", "2.1", "--document", "Harbourview"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("CHANGED  Harbourview") and "[-Never-] {+Do not+}" in out
    assert cli_main(["changes", "--since", "2099-01-01"]) == 0
    assert "No recorded changes since 2099-01-01." in capsys.readouterr().out
    assert cli_main(["changes", "--since", "2026-13-01"]) == 2
    assert "is not a YYYY-MM-DD date" in capsys.readouterr().err


def _answer(store: Store, answer_id: str, at: datetime, section: str) -> None:
    with store.transaction() as session:
        session.add(
            AnswerRow(
                id=answer_id,
                created_at=at,
                platform="slack",
                asker_key="k" * 64,
                question="can I paste [HKID] into a chatbot?",
                answer="No. [1]",
                status="answered",
                citations=[{"n": 1, "document": "P", "section": section, "text": "old rule"}],
                message_ref=None,
            )
        )


def test_answers_citing_a_section_changed_since_are_listed_as_stale(
    store: Store,
    store_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    now = datetime.now(UTC)
    _answer(store, "before", now - timedelta(hours=1), "4.2 Personal data")
    _answer(store, "other-section", now - timedelta(hours=1), "5. Accuracy")
    documents = DocumentStore(store)
    source = LoadedSource("p.md", b"v2", "P", "2.0", None, "folder")
    change = SectionChange("p.md", "P", "4.2 Personal data", CHANGED, "old rule", "new rule")
    documents.record_ingest([source], [change])
    _answer(store, "after", datetime.now(UTC) + timedelta(seconds=1), "4.2 Personal data")

    [stale] = stale_answers(store)
    assert stale.answer_id == "before" and stale.question == "can I paste [HKID] into a chatbot?"
    assert (stale.old_text, stale.new_text, stale.change) == ("old rule", "new rule", CHANGED)

    monkeypatch.setenv("POLICYBOT_DATA_DIR", str(store_settings.data_dir))
    monkeypatch.setenv("POLICYBOT_DATABASE_URL", store_settings.resolved_database_url)
    assert cli_main(["changes", "--stale", "--json"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert json.loads(line)["diff"] == "[-old-] {+new+} rule"


def test_an_answer_goes_stale_only_once_the_change_is_in_force(store: Store) -> None:
    now = datetime.now(UTC)
    _answer(store, "before", now - timedelta(hours=1), "4.2 Personal data")
    documents = DocumentStore(store)
    effective = (now + timedelta(days=10)).date().isoformat()
    source = LoadedSource("p.md", b"v3", "P", "3.0", effective, "folder")
    change = SectionChange("p.md", "P", "4.2 Personal data", CHANGED, "old rule", "new rule")
    documents.record_ingest([source], [change], upcoming={"p.md": effective})
    _answer(store, "between", now + timedelta(days=2), "4.2 Personal data")

    assert stale_answers(store) == []
    assert stale_answers(store, now=now + timedelta(days=5)) == []
    later = stale_answers(store, now=now + timedelta(days=11))
    # Both were answered from the version in force until the date: both are stale after it.
    assert [a.answer_id for a in later] == ["between", "before"]
    assert later[0].changed_at.date().isoformat() == effective
