"""Wiring: build the embedder, index and answerer from one :class:`Settings` object."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.answering.answer import Answerer
from bot.answering.compose import ChatModelComposer, Composer, chat_model_from_settings
from bot.errors import ConfigurationError, DocumentError, PolicyBotError
from bot.handoff.records import queue_stale_cards
from bot.settings import Settings
from bot.store import Store, open_store
from bot.store.activity import ActivityLog
from bot.store.documents import (
    FOLDER,
    UPLOAD,
    DocumentStore,
    LoadedSource,
    content_hash,
    effective_date,
)
from bot.store.ingest_lock import IngestLock, IngestRunning
from knowledge.batching import BatchingEmbedder, set_torch_threads
from knowledge.changes import ADDED, SectionChange, StoredSection, section_changes
from knowledge.chunking import chunk_document
from knowledge.coverage import coverage_shift, sources_from_index
from knowledge.documents import Document
from knowledge.embedding import Embedder, SentenceTransformerEmbedder
from knowledge.index import KnowledgeIndex, make_client
from knowledge.ingest import FileFailure, IngestReport, LoadedFile, Progress, ingest
from knowledge.loaders import load_document

log = logging.getLogger(__name__)


def keep_data_local() -> None:
    """No telemetry, no tracing, no model hub, whatever the environment says elsewhere.

    LangSmith tracing stays on only if an admin set ``LANGSMITH_TRACING`` explicitly.
    """
    os.environ["ANONYMIZED_TELEMETRY"] = "False"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("LANGCHAIN_TRACING_V2", "false")
    os.environ.setdefault("LANGSMITH_TRACING", "false")


@dataclass
class Engine:
    """The loaded knowledge engine: one embedder, one index, one answerer."""

    settings: Settings
    embedder: Embedder
    index: KnowledgeIndex
    answerer: Answerer
    # What "now" is for effective dates (tests move it; everything else uses the real one).
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def ingest(
        self,
        sources: list[Path] | None = None,
        *,
        progress: Progress | None = None,
        trigger: str = "direct",
        actor: str | None = None,
        run_id: int | None = None,
    ) -> IngestReport:
        """Ingest ``sources`` (default: the configured ones) and the published documents of
        the database's document store while holding the deployment's one ingest lock: the one
        ingest every entrance (CLI, Slack, Teams, console) runs. The versions and section
        changes this ingest brought are recorded in the store.

        The run is recorded in the activity log (``trigger``: which entrance; ``actor``: a
        console account name, never a platform user id) with its report or its error. A
        caller that recorded the run itself (the console shows it while it is queued) passes
        its ``run_id`` and finishes the record too.

        Raises:
            IngestRunning: another process is ingesting (the message says since when).
        """
        kwargs = {"progress": progress} if progress else {}
        roots_given = list(sources or self.settings.sources)
        store = open_store(self.settings)
        try:
            activity = ActivityLog(store.engine)
            run = run_id
            if run is None:
                run = activity.start_ingest(trigger=trigger, actor=actor)
            try:
                report = self._ingest_locked(store, roots_given, kwargs)
            except Exception as exc:
                if run_id is None:
                    activity.finish_ingest(
                        run, report=None, error=str(exc) or exc.__class__.__name__
                    )
                raise
            if run_id is None:
                activity.finish_ingest(run, report=report.as_json())
        finally:
            store.close()
        self.index.refresh()
        return report

    def _ingest_locked(
        self, store: Store, roots_given: list[Path], kwargs: dict[str, Progress]
    ) -> IngestReport:
        with IngestLock(store.engine).hold():
            documents = DocumentStore(store)
            today = self.today()
            taking_over = set(documents.due(today))
            versions = _InForce(documents, today, documents.hidden())
            with tempfile.TemporaryDirectory(prefix="policybot-uploads-") as folder:
                uploads = Path(folder)
                documents.write_published(uploads)
                report = ingest(
                    self.index.client,
                    self.embedder,
                    [uploads, *roots_given],
                    weights=self.index.weights,
                    choose=versions.choose,
                    **kwargs,
                )
                report.failed = [_shown_failure(f, uploads) for f in report.failed]
                report.changes = documents.record_ingest(
                    [
                        _loaded_source(loaded, uploads)
                        for loaded in report.loaded
                        if loaded.path not in versions.left_out
                    ],
                    [*report.changes, *versions.upcoming_changes()],
                    failed=_failed_names(report, [uploads, *roots_given]),
                    upcoming=versions.upcoming,
                )
        if report.changes:
            # The coverage is of the index this ingest built: reload the snapshot now, or a
            # snapshot read less than its check interval ago would still be the old index.
            self.index.refresh()
            report.coverage = self._coverage_shift(report.changes)
        # Tickets' cards say the answer went stale once a change is in force: now for this
        # ingest's changes of today, on its date for a version stored ahead of it.
        in_force = [c for c in report.changes if (c.effective or "") <= today]
        if taking_over:
            in_force += [
                c
                for c in documents.changes()
                if c.path in taking_over
                and (c.recorded_at or "")[:10] < (c.effective or "") <= today
            ]
        stale = {(c.document, c.section) for c in in_force if c.change != ADDED}
        queue_stale_cards(store, stale, datetime.now(UTC))
        return report

    def _coverage_shift(self, changes: list[SectionChange]) -> dict[str, Any] | None:
        """The checklist coverage of the new index and how these changes moved it; None
        when it cannot be worked out (no policy documents), which never fails an ingest."""
        try:
            after = sources_from_index(self.index.chunks(), "the index")
            return coverage_shift(after, changes, self.embedder)
        except PolicyBotError as exc:
            log.info("coverage not recorded with this ingest: %s", exc)
            return None

    def batch_questions(self, *, window: float, max_batch: int) -> BatchingEmbedder:
        """Embed questions searched concurrently in batches (a server's answering threads);
        ingest and calibration keep calling the model directly."""
        current = self.index.embedder
        if isinstance(current, BatchingEmbedder):
            return current
        batching = BatchingEmbedder(current, window=window, max_batch=max_batch)
        self.index.embedder = batching
        return batching

    def today(self) -> str:
        """Today in the organisation's time zone, as effective dates are written."""
        return self.clock().astimezone(self.settings.zone).date().isoformat()

    def switch_due(self) -> IngestReport | None:
        """Ingest if a stored version's effective date has come, so that it takes over
        without an admin re-ingesting. Any process may call this; the ingest lock lets one
        through and the others find nothing due afterwards."""
        store = open_store(self.settings)
        try:
            due = DocumentStore(store).due(self.today())
        finally:
            store.close()
        if not due:
            return None
        log.info("effective date reached for %s: ingesting", ", ".join(due))
        try:
            return self.ingest(trigger="effective date")
        except IngestRunning:
            return None

    def ensure_ingested(self) -> IngestReport | None:
        """Ingest the configured sources if the index is empty (first start)."""
        if not self.index.is_empty:
            return None
        log.info("index is empty: ingesting %s", ", ".join(map(str, self.settings.sources)))
        return self.ingest(trigger="first start")


class _InForce:
    """Chooses, for each file an ingest reads, the version in force today: nothing for a
    document an admin disabled or removed; else the file itself,
    or (when its ``effective`` date is still to come) the newest stored version in force,
    which stays in the index until that date; nothing if no version is in force yet."""

    def __init__(self, documents: DocumentStore, today: str, hidden: set[str]) -> None:
        self.documents = documents
        self.today = today
        self.hidden = hidden
        self.left_out: set[str] = set()
        self.upcoming: dict[str, str] = {}
        self._pairs: dict[str, tuple[Document | None, Document]] = {}

    def choose(self, loaded: LoadedFile) -> Document | None:
        if loaded.path in self.hidden:  # disabled or removed by an admin: history kept
            self.left_out.add(loaded.path)
            return None
        effective = effective_date(loaded.document.effective)
        if effective is None or effective <= self.today:
            return loaded.document
        data = (loaded.root / loaded.path).read_bytes()
        current_bytes = self.documents.in_force(
            loaded.path, self.today, other_than=content_hash(data)
        )
        current = _parse(loaded.path, current_bytes) if current_bytes is not None else None
        self.upcoming[loaded.path] = effective
        self._pairs[loaded.path] = (current, loaded.document)
        return current

    def upcoming_changes(self) -> list[SectionChange]:
        """The sections each upcoming version adds, changes or removes against the version
        in force (recorded only when that upcoming version is new to the store)."""
        changes = []
        for name, (current, upcoming) in self._pairs.items():
            before = [
                StoredSection(c.id, name, c.document, c.section, c.version, c.text)
                for c in (chunk_document(current) if current is not None else [])
            ]
            after = [(chunk, name) for chunk in chunk_document(upcoming)]
            changes.extend(section_changes(before, after))
        return changes


def _parse(name: str, data: bytes) -> Document | None:
    with tempfile.TemporaryDirectory(prefix="policybot-version-") as folder:
        path = Path(folder) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        try:
            return load_document(path, Path(folder))
        except DocumentError:
            log.warning("the stored version in force of %s cannot be read", name)
            return None


def _loaded_source(loaded: LoadedFile, uploads: Path) -> LoadedSource:
    document = loaded.document
    return LoadedSource(
        name=loaded.path,
        data=(loaded.root / loaded.path).read_bytes(),
        title=document.title,
        declared=document.version,
        effective=document.effective,
        origin=UPLOAD if loaded.root == uploads else FOLDER,
    )


def _shown_failure(failure: FileFailure, uploads: Path) -> FileFailure:
    """An uploaded file's failure names the upload, not the temporary folder it was read from."""
    path = Path(failure.path)
    if path.is_relative_to(uploads):
        return FileFailure(
            path=f"{path.relative_to(uploads).as_posix()} (uploaded)", error=failure.error
        )
    return failure


def _failed_names(report: IngestReport, roots: list[Path]) -> set[str]:
    """Store names of the files that failed to load (their old sections stay indexed)."""
    names = set()
    for failure in report.failed:
        if failure.path.endswith(" (uploaded)"):
            names.add(failure.path.removesuffix(" (uploaded)"))
            continue
        path = Path(failure.path)
        for root in roots:
            if path.is_relative_to(root):
                names.add(path.relative_to(root).as_posix())
    return names


def build_composer(settings: Settings) -> Composer | None:
    if not settings.llm_provider and not settings.llm_model:
        return None
    if not (settings.llm_provider and settings.llm_model):
        raise ConfigurationError(
            "set both POLICYBOT_LLM_PROVIDER and POLICYBOT_LLM_MODEL (e.g. openai and gpt-4o-mini)"
            ", or neither to use the extractive composer"
        )
    try:
        model = chat_model_from_settings(settings.llm_provider, settings.llm_model)
    except (ImportError, ValueError) as exc:
        raise ConfigurationError(
            f"cannot create chat model {settings.llm_model!r} of {settings.llm_provider!r}: {exc}"
        ) from exc
    return ChatModelComposer(model, timeout_seconds=settings.llm_timeout_seconds)


def build_engine(
    settings: Settings, *, embedder: Embedder | None = None, composer: Composer | None = None
) -> Engine:
    keep_data_local()
    # Every process that answers (serve, chat, ask, eval) pays torch's per-call thread
    # hand-offs otherwise: on a busy 2-core machine two threads made one question cost 15x
    # the wall time of one thread (``bench/bench_answer_latency.py``).
    set_torch_threads(settings.torch_threads)
    # The client first: an unreachable Chroma server fails before seconds of model loading.
    client = make_client(index_dir=settings.resolved_index_dir, chroma_url=settings.chroma_url)
    embedder = embedder or SentenceTransformerEmbedder(settings.embedding_model)
    if settings.embedding_languages:
        # Wins over the model card; ingest's calibration reads the embedder's languages too.
        embedder.languages = frozenset(
            code.strip().lower() for code in settings.embedding_languages.split(",")
        )
    index = KnowledgeIndex(client, embedder)
    answerer = Answerer(
        index,
        threshold=settings.answer_threshold,
        max_citations=settings.max_citations,
        composer=composer or build_composer(settings),
    )
    return Engine(settings=settings, embedder=embedder, index=index, answerer=answerer)
