"""Questions that arrive together are embedded together.

A transformer spends most of one question's embedding on fixed costs (the call, the
layers' set-up, thread hand-offs); eight short questions in one call cost little more than
two alone. :class:`BatchingEmbedder` wraps an :class:`~knowledge.embedding.Embedder`: each
single-question ``embed`` call (what :meth:`KnowledgeIndex.search` makes) joins a queue;
one thread takes the first waiting question, gathers those arriving within ``window``
seconds (at most ``max_batch``), embeds them in one call and hands each caller its own
row. Ranking and composing stay per question, in the callers' threads. A lone question
waits at most ``window``; calls with several texts (ingest, calibration, evaluation) go
straight to the model.

The thread is started on first use and again after a ``fork`` (a child process does not
inherit threads), so a worker forked after the model is loaded batches on its own.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future

import numpy as np

from knowledge.embedding import Embedder

log = logging.getLogger(__name__)

DEFAULT_WINDOW_SECONDS = 0.002
DEFAULT_MAX_BATCH = 8


def set_torch_threads(threads: int) -> None:
    """torch's intra-op threads for this process (0 leaves torch's default: one per core).

    One thread per process wastes least CPU on this model's small matrices: two threads cost
    about 1.6x the CPU of one for the same question on a quiet machine (issue 20's
    measurement) and far more on a busy one, where they wait for a core while spinning (9x
    at load average 8 in ``bench/results/embed_threads.md``, from
    ``bench/bench_embed_threads.py``); and they save little wall time.
    """
    if threads <= 0:
        return
    import torch

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


class BatchingEmbedder(Embedder):
    """An embedder that gathers concurrent single-question calls into batches."""

    def __init__(
        self,
        inner: Embedder,
        *,
        window: float = DEFAULT_WINDOW_SECONDS,
        max_batch: int = DEFAULT_MAX_BATCH,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self.window = max(0.0, window)
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[str, Future[np.ndarray]]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        # Counters for benchmarks and tests: calls to the model, questions embedded.
        self.batches = 0
        self.batched_questions = 0

    @property  # type: ignore[override]
    def languages(self) -> frozenset[str]:
        return self.inner.languages

    @languages.setter
    def languages(self, value: frozenset[str]) -> None:
        self.inner.languages = value

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) != 1:
            return self.inner.embed(texts)
        self._ensure_thread()
        result: Future[np.ndarray] = Future()
        self._queue.put((texts[0], result))
        return result.result()[None, :]

    def _ensure_thread(self) -> None:
        pid = os.getpid()
        if self._thread is not None and self._pid == pid and self._thread.is_alive():
            return
        with self._lock:
            if self._pid != pid:
                # A forked child: the parent's queue may hold requests of threads that do
                # not exist here; start clean.
                self._queue = queue.SimpleQueue()
                self._thread = None
            if self._thread is None or not self._thread.is_alive():
                self._pid = pid
                self._thread = threading.Thread(target=self._run, name="embed-batcher", daemon=True)
                self._thread.start()

    def _gather(self) -> list[tuple[str, Future[np.ndarray]]]:
        batch = [self._queue.get()]
        if self.window <= 0:
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            return batch
        deadline = time.monotonic() + self.window
        while len(batch) < self.max_batch:
            remaining = deadline - time.monotonic()
            try:
                batch.append(
                    self._queue.get(timeout=remaining)
                    if remaining > 0
                    else self._queue.get_nowait()
                )
            except queue.Empty:
                break
        return batch

    def _run(self) -> None:
        while True:
            batch = self._gather()
            texts = [text for text, _ in batch]
            try:
                vectors = self.inner.embed(texts)
            except BaseException as exc:  # every caller gets the model's failure
                for _, future in batch:
                    future.set_exception(exc)
                continue
            self.batches += 1
            self.batched_questions += len(batch)
            for row, (_, future) in enumerate(batch):
                future.set_result(vectors[row])
