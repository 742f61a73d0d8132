"""Ingestion from the admin page: check an uploaded policy file, run ingest, follow progress.

An upload is stored in the database's document store (``bot.store.documents``), where
every process and the ingest job read it.

One ingest at a time per process: asking for another while one runs returns the running
one. Progress lives in memory (the page polls the process that runs the job); the finished
report is kept in the database with who started the run.
"""

from __future__ import annotations

import asyncio
import logging
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters.metrics import Metrics
from bot.answering.engine import Engine
from bot.errors import DocumentError, PolicyBotError
from bot.store.activity import ActivityLog
from knowledge.documents import Document
from knowledge.loaders import SUPPORTED_SUFFIXES, load_document

log = logging.getLogger(__name__)

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._()-]{0,119}$")


class UploadError(PolicyBotError):
    """An uploaded file was refused; the message tells the admin why."""


class IngestBusy(PolicyBotError):
    """An ingest is already running in this process; ``job`` is the running one."""

    def __init__(self, job: IngestJob) -> None:
        super().__init__(f"ingest run {job.id} is still running; wait for it to finish")
        self.job = job


@dataclass
class IngestJob:
    """A running or finished ingest as the admin page shows it."""

    id: int
    trigger: str
    actor: str | None
    state: str = "running"
    stage: str = "starting"
    done: int = 0
    total: int = 0
    report: dict[str, Any] | None = None
    error: str | None = None
    started: float = field(default_factory=time.monotonic)

    def progress(self, stage: str, done: int, total: int) -> None:
        self.stage, self.done, self.total = stage, done, total

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "stage": self.stage,
            "done": self.done,
            "total": self.total,
            "report": self.report,
            "error": self.error,
            "seconds": round(time.monotonic() - self.started, 1),
        }


class IngestJobs:
    """Starts ingest runs off the event loop and remembers them for the progress page."""

    def __init__(self, engine: Engine, activity: ActivityLog, metrics: Metrics) -> None:
        self.engine = engine
        self.activity = activity
        self.metrics = metrics
        self.jobs: dict[int, IngestJob] = {}
        self.current: IngestJob | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()

    @property
    def running(self) -> IngestJob | None:
        job = self.current
        return job if job is not None and job.state == "running" else None

    async def start(
        self, *, trigger: str, actor: str | None, before: Callable[[], None] | None = None
    ) -> IngestJob:
        """Start a run (after ``before``, e.g. moving an upload in place).

        Raises:
            IngestBusy: a run is already going; ``before`` was not called.
        """
        async with self._lock:
            if self.running is not None:
                raise IngestBusy(self.running)
            run_id = await asyncio.to_thread(
                self.activity.start_ingest, trigger=trigger, actor=actor
            )
            job = IngestJob(id=run_id, trigger=trigger, actor=actor)
            self.jobs[run_id] = job
            self.current = job
        task = asyncio.create_task(self._run(job, before))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    async def _run(self, job: IngestJob, before: Callable[[], None] | None) -> None:
        def work() -> dict[str, Any]:
            if before is not None:
                before()
            return self.engine.ingest(progress=job.progress, run_id=job.id).as_json()

        try:
            job.report = await asyncio.to_thread(work)
        except Exception as exc:  # the admin sees the reason; the previous index keeps answering
            job.state, job.error = "failed", str(exc) or exc.__class__.__name__
            log.exception("ingest run %s failed", job.id)
            self.metrics.observe_ingest(failed_files=0, error=True)
        else:
            job.state = "done"
            self.metrics.observe_ingest(failed_files=len(job.report["failed"]))
            log.info(
                "ingest run %s done",
                job.id,
                extra={"chunks": job.report["chunks"], "failed": len(job.report["failed"])},
            )
        await asyncio.to_thread(
            self.activity.finish_ingest, job.id, report=job.report, error=job.error
        )

    async def wait(self) -> None:
        """Wait for running jobs (tests, shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def upload_name(filename: str) -> str:
    """The store name of an uploaded file; refuses names that could hide or mislead."""
    name = Path(filename.replace("\\", "/")).name
    if not _SAFE_NAME.match(name) or name.startswith("."):
        raise UploadError(
            "use a file name of letters, digits, spaces, '.', '_', '-' or '()', up to 120 "
            "characters"
        )
    if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
        allowed = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise UploadError(f"{name}: unsupported file type; upload one of {allowed}")
    return name


def check_upload(name: str, data: bytes) -> Document:
    """Load an uploaded file as ingestion will (from a private temporary folder); what was
    understood, or UploadError with the reason. Nothing is kept."""
    with tempfile.TemporaryDirectory(prefix="policybot-upload-") as folder:
        path = Path(folder) / Path(name).name  # a folder file's name may hold its subfolder
        path.write_bytes(data)
        try:
            return load_document(path, Path(folder))
        except DocumentError as exc:
            raise UploadError(f"{name}: {exc}") from exc
