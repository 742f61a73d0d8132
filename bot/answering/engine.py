"""Wiring: build the embedder, index and answerer from one :class:`Settings` object."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from bot.answering.answer import Answerer
from bot.answering.compose import ChatModelComposer, Composer, chat_model_from_settings
from bot.errors import ConfigurationError
from bot.settings import Settings
from bot.store.activity import ActivityLog
from bot.store.ingest_lock import ingest_lock_for
from knowledge.batching import BatchingEmbedder
from knowledge.embedding import Embedder, SentenceTransformerEmbedder
from knowledge.index import KnowledgeIndex, make_client
from knowledge.ingest import IngestReport, Progress, ingest

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

    def ingest(
        self,
        sources: list[Path] | None = None,
        *,
        progress: Progress | None = None,
        trigger: str = "direct",
        actor: str | None = None,
        run_id: int | None = None,
    ) -> IngestReport:
        """Ingest ``sources`` (default: the configured ones) while holding the deployment's
        one ingest lock: the one ingest every entrance (CLI, Slack, Teams, console) runs.

        The run is recorded in the activity log (``trigger``: which entrance; ``actor``: a
        console account name, never a platform user id) with its report or its error. A
        caller that recorded the run itself (the console shows it while it is queued) passes
        its ``run_id`` and finishes the record too.

        Raises:
            IngestRunning: another process is ingesting (the message says since when).
        """
        kwargs = {"progress": progress} if progress else {}
        with ingest_lock_for(self.settings) as lock:
            activity = ActivityLog(lock.engine)
            run = run_id
            if run is None:
                run = activity.start_ingest(trigger=trigger, actor=actor)
            try:
                with lock.hold():
                    report = ingest(
                        self.index.client,
                        self.embedder,
                        sources or self.settings.sources,
                        weights=self.index.weights,
                        **kwargs,
                    )
            except Exception as exc:
                if run_id is None:
                    activity.finish_ingest(
                        run, report=None, error=str(exc) or exc.__class__.__name__
                    )
                raise
            if run_id is None:
                activity.finish_ingest(run, report=report.as_json())
        self.index.refresh()
        return report

    def batch_questions(self, *, window: float, max_batch: int) -> BatchingEmbedder:
        """Embed questions searched concurrently in batches (a server's answering threads);
        ingest and calibration keep calling the model directly."""
        current = self.index.embedder
        if isinstance(current, BatchingEmbedder):
            return current
        batching = BatchingEmbedder(current, window=window, max_batch=max_batch)
        self.index.embedder = batching
        return batching

    def ensure_ingested(self) -> IngestReport | None:
        """Ingest the configured sources if the index is empty (first start)."""
        if not self.index.is_empty:
            return None
        log.info("index is empty: ingesting %s", ", ".join(map(str, self.settings.sources)))
        return self.ingest(trigger="first start")


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
