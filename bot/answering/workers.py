"""Answer worker processes: the model loaded once, answers worked out beside the server.

With ``policybot serve --workers N`` (``POLICYBOT_ANSWER_PROCESSES``) the server process
keeps what must be quick (signature checks, delivery claims, acknowledgements, the queue
count and its busy reply) and sends each question to one of N worker processes, which
answer on their own cores. Without it (the default, 0) answers are worked out on the
server's own threads (:class:`bot.answering.pool.AnswerPool`), as before.

How the processes come about, so that forking is safe and memory is shared:

1. The server loads the embedding model (and sets torch's threads) while it holds
   nothing else open: no Chroma client, no database connection, no thread of its own, and
   the model not run yet (torch starts its thread pools on first use). Its start-up checks
   ran before, and closed the database engine and Chroma client they opened.
2. It forks a *zygote* at once (:class:`Zygote`): a process that only forks answer workers
   when asked. Every worker, a replacement too, is a fork of that clean process, never of
   the busy server: a process holding a Chroma client has native threads a child does not
   get (a child forked from one hung on its first write in a trial), and another thread may
   hold a lock at the moment of the fork. The model's pages (weights, torch's code and
   data) stay shared copy-on-write between the server, the zygote and the workers.
3. Each worker opens its own Chroma client and database engine, builds its answerer as
   the server does (:func:`bot.assembly.policy_answerer`), with its own torch threads and
   question batching, and answers the questions arriving on its socket with a few threads.
   Its index checks the collection pointer as the server's does (at most every
   :data:`knowledge.index.POINTER_CHECK_SECONDS`), so a new index version reaches every
   worker within 2 seconds.

The server sends a worker ``Job(id, question)`` (the redacted, trimmed question text: all
an answer needs) and gets back an :class:`Outcome`: the :class:`~bot.models.Answer` or the
name of the error. A worker that dies fails its questions in flight with
:class:`WorkerLost` (the adapters' usual "something went wrong" reply: nothing is silently
lost) and the zygote forks a replacement. On shutdown each worker is told to stop, finishes
what it holds and exits; a worker or zygote whose parent dies is killed by the kernel
(``PR_SET_PDEATHSIG``), so even a killed server leaves no orphans.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import itertools
import logging
import multiprocessing
import os
import queue
import signal
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.reduction import recv_handle, send_handle

from bot.answering.pool import Answering, AnswerQueue
from bot.errors import PolicyBotError
from bot.models import Answer

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
READY_TIMEOUT_SECONDS = 180.0
STOP_TIMEOUT_SECONDS = 30.0
RESTART_PAUSE_SECONDS = 5.0
# Linux's scheduler weighs a niceness-10 process about a tenth of a niceness-0 one.
# POLICYBOT_ANSWER_NICENESS sets it (bot.settings).
WORKER_NICENESS = 10
READY = 0  # the job id of a worker's first message: built and listening


class WorkerLost(PolicyBotError):
    """The worker process holding a question stopped before answering it (or none runs)."""


class AnswerFailed(PolicyBotError):
    """The worker's answerer raised; the worker logged the traceback."""


@dataclass(frozen=True)
class Job:
    id: int
    question: str


@dataclass(frozen=True)
class Outcome:
    """A worker's reply to a job: the answer, or the error's class name (never its text,
    which could quote the question)."""

    id: int
    pid: int
    answer: Answer | None = None
    error: str | None = None


def die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when its parent exits (Linux only)."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


class Zygote:
    """A clean fork of the server, made before it opens anything, that forks workers.

    ``build`` runs in each worker to make its answerer; ``threads`` answer in each, at
    ``niceness`` (see :func:`_work`).
    """

    def __init__(
        self,
        build: Callable[[], Answering],
        *,
        threads: int,
        niceness: int = WORKER_NICENESS,
    ) -> None:
        ours, theirs = multiprocessing.Pipe()  # a Unix socket pair: it can pass descriptors
        # What is loaded so far (the model, every module) is left out of the cyclic
        # collector's passes, which would otherwise write to, and so copy, its pages.
        gc.freeze()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                ours.close()
                _zygote(theirs, parent, build, threads, niceness)
            except BaseException:
                log.exception("answer workers: the zygote process failed")
                code = 1
            finally:
                os._exit(code)
        theirs.close()
        self.pid = pid
        self._control = ours
        self._lock = threading.Lock()

    def fork_worker(self) -> tuple[Connection, int]:
        """A new worker process: the server's end of its socket, and its pid (blocking)."""
        server_end, worker_end = socket.socketpair()
        with self._lock, worker_end:
            self._control.send("fork")
            send_handle(self._control, worker_end.fileno(), self.pid)
            pid = int(self._control.recv())
        return Connection(server_end.detach()), pid

    def close(self) -> None:
        """Stop the zygote (a worker still running is killed with it) and reap it."""
        self._control.close()
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                done, _ = os.waitpid(self.pid, os.WNOHANG)
                if done == 0:
                    time.sleep(0.05)
                    continue
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


def _zygote(
    control: Connection,
    parent: int,
    build: Callable[[], Answering],
    threads: int,
    niceness: int,
) -> None:
    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when workers stop
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps exited workers
    me = os.getpid()
    while True:
        try:
            control.recv()
            handle = recv_handle(control)
        except (EOFError, OSError):  # the server closed the pipe or died: stop
            return
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                control.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                die_with_parent(me)
                _work(Connection(handle), build, threads, niceness)
            except BaseException:
                log.exception("answer worker: stopped by an error")
                code = 1
            finally:
                os._exit(code)
        os.close(handle)
        control.send(pid)


def _work(conn: Connection, build: Callable[[], Answering], threads: int, niceness: int) -> None:
    """A worker: build the answerer, say ready, answer every job until told to stop.

    Workers run at a lower scheduling priority (``niceness``, :data:`WORKER_NICENESS`
    unless configured): when the cores are busy the kernel runs the server's
    acknowledgements first, and answers still get every cycle the server leaves idle. The
    price is paid when other programs share the cores: they come first too."""
    if niceness:
        os.nice(niceness)
    answerer = build()
    pid = os.getpid()
    sending = threading.Lock()

    def reply(outcome: Outcome) -> None:
        with sending, contextlib.suppress(OSError):
            conn.send(outcome)

    def answer(job: Job) -> None:
        try:
            outcome = Outcome(job.id, pid, answer=answerer.answer(job.question))
        except Exception as exc:  # the server replies with the usual error message
            log.exception("answer worker: answering failed")
            outcome = Outcome(job.id, pid, error=exc.__class__.__name__)
        reply(outcome)

    reply(Outcome(READY, pid))
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="answer") as executor:
        while True:
            try:
                job = conn.recv()
            except (EOFError, OSError):
                break
            if job is None:  # stop: the executor finishes and sends what it holds
                break
            executor.submit(answer, job)
    conn.close()


@dataclass(eq=False)
class _Worker:
    conn: Connection
    pid: int
    ready: bool = False
    pending: dict[int, asyncio.Future[Answer | None]] = field(default_factory=dict)
    # Jobs for the writer thread (None: tell the worker to stop). A socket write can block
    # when a worker hangs; it must block that thread, never the event loop.
    outbox: queue.SimpleQueue[Job | None] = field(default_factory=queue.SimpleQueue)


class ProcessAnswerPool(AnswerQueue):
    """Answers worked out by worker processes forked from ``zygote``; see the module
    docstring. Call :meth:`start` on the server's event loop before the first question
    and :meth:`close` at shutdown. The question counted in flight, the queue limit and
    :class:`~bot.answering.pool.Busy` are :class:`~bot.answering.pool.AnswerQueue`'s."""

    def __init__(self, zygote: Zygote, *, processes: int, queue_limit: int) -> None:
        if processes < 1:
            raise ValueError("a process answer pool needs at least one process")
        super().__init__(queue_limit=queue_limit)
        self.zygote = zygote
        self.processes = processes
        self.workers: list[_Worker] = []
        # Answers per worker pid (the server's /metrics shows who answered) and restarts.
        self.answered: Counter[int] = Counter()
        self.restarts = 0
        self._ids = itertools.count(READY + 1)
        self._turn = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._some_ready: asyncio.Event | None = None
        self._closing = False
        self._restarting: set[asyncio.Task[None]] = set()

    @property
    def ready_pids(self) -> list[int]:
        return [worker.pid for worker in self.workers if worker.ready]

    async def start(self) -> None:
        """Fork the workers and wait until each has built its answerer.

        Raises:
            WorkerLost: a worker stopped while starting (its log says why).
        """
        self._loop = asyncio.get_running_loop()
        self._some_ready = asyncio.Event()
        await asyncio.gather(*(self._spawn() for _ in range(self.processes)))

    async def answer(self, answerer: Answering, question: str) -> Answer:
        """A worker's answer to ``question`` (``answerer`` is the server's own; each worker
        has built the same one, see :func:`bot.assembly.policy_answerer`).

        Raises:
            Busy: the queue limit is reached.
            WorkerLost: the worker holding the question stopped, or none came up in time.
            AnswerFailed: the worker's answerer raised.
        """
        with self.admitted():
            worker = await self._choose()
            job = Job(next(self._ids), question)
            future: asyncio.Future[Answer | None] = asyncio.get_running_loop().create_future()
            worker.pending[job.id] = future
            worker.outbox.put(job)
            try:
                answer = await future
            finally:
                worker.pending.pop(job.id, None)
            assert answer is not None
            return answer

    async def close(self) -> None:
        """Tell every worker to stop (each finishes the questions it holds), wait for them,
        then stop the zygote."""
        self._closing = True
        for task in list(self._restarting):
            task.cancel()
        for worker in list(self.workers):
            worker.outbox.put(None)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while self.workers and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for worker in list(self.workers):  # did not stop in time: the zygote's exit kills it
            log.warning("answer worker %s did not stop in time", worker.pid)
        await asyncio.to_thread(self.zygote.close)

    async def _choose(self) -> _Worker:
        assert self._some_ready is not None, "ProcessAnswerPool.start() was not awaited"
        ready = [worker for worker in self.workers if worker.ready]
        if not ready:
            try:
                await asyncio.wait_for(self._some_ready.wait(), READY_TIMEOUT_SECONDS)
            except TimeoutError as exc:
                raise WorkerLost("no answer worker process is running") from exc
            ready = [worker for worker in self.workers if worker.ready]
            if not ready:
                raise WorkerLost("no answer worker process is running")
        # The least busy; ties taken in turn, so that every worker gets questions.
        start = next(self._turn) % len(ready)
        return min(ready[start:] + ready[:start], key=lambda worker: len(worker.pending))

    async def _spawn(self) -> None:
        assert self._loop is not None
        conn, pid = await asyncio.to_thread(self.zygote.fork_worker)
        worker = _Worker(conn, pid)
        started: asyncio.Future[Answer | None] = self._loop.create_future()
        worker.pending[READY] = started
        self.workers.append(worker)
        for work, role in ((self._read, "reader"), (self._write, "writer")):
            threading.Thread(
                target=work, args=(worker,), name=f"answer-{role}-{pid}", daemon=True
            ).start()
        await asyncio.wait_for(started, READY_TIMEOUT_SECONDS)
        log.info("answer worker %s is ready", pid, extra={"worker_pid": pid})

    def _read(self, worker: _Worker) -> None:
        """A thread per worker: hand each outcome to the event loop until the socket ends."""
        assert self._loop is not None
        while True:
            try:
                outcome = worker.conn.recv()
            except (EOFError, OSError):
                break
            with contextlib.suppress(RuntimeError):  # the loop has closed: shutting down
                self._loop.call_soon_threadsafe(self._settle, worker, outcome)
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._lost, worker)

    @staticmethod
    def _write(worker: _Worker) -> None:
        """A thread per worker: send its jobs in order; ends after the stop or a failure."""
        while True:
            job = worker.outbox.get()
            try:
                worker.conn.send(job)
            except OSError:  # the worker is gone: the reader fails its questions
                return
            if job is None:
                return

    def _settle(self, worker: _Worker, outcome: Outcome) -> None:
        future = worker.pending.pop(outcome.id, None)
        if outcome.id == READY:
            worker.ready = True
            assert self._some_ready is not None
            self._some_ready.set()
        else:
            self.answered[outcome.pid] += 1
        if future is None or future.done():
            return
        if outcome.error is not None:
            future.set_exception(AnswerFailed(f"answering failed in worker {outcome.pid}"))
        else:
            future.set_result(outcome.answer)

    def _lost(self, worker: _Worker) -> None:
        if worker not in self.workers:
            return
        self.workers.remove(worker)
        worker.outbox.put(None)  # ends the writer (the closed socket refuses the send)
        worker.conn.close()
        if self._some_ready is not None and not self.ready_pids:
            self._some_ready.clear()
        for future in worker.pending.values():
            if not future.done():
                future.set_exception(
                    WorkerLost(f"answer worker {worker.pid} stopped before answering")
                )
        worker.pending.clear()
        if self._closing or not worker.ready:  # one that never started: _spawn raises
            return
        log.error("answer worker %s stopped: starting another", worker.pid)
        self.restarts += 1
        task = asyncio.get_running_loop().create_task(self._replace())
        self._restarting.add(task)
        task.add_done_callback(self._restarting.discard)

    async def _replace(self) -> None:
        while not self._closing:
            try:
                await self._spawn()
                return
            except Exception:  # e.g. Chroma unreachable: keep trying, the others answer
                log.exception("answer worker: a replacement did not start; trying again")
                await asyncio.sleep(RESTART_PAUSE_SECONDS)
