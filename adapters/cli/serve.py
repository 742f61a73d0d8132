"""``policybot serve``: run the server process (health, Slack, Teams, web console)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from functools import partial
from typing import Any

import chromadb.errors
from aiohttp import web

from adapters import slack, teams
from adapters.logs import AccessLogger, configure_server_logging
from adapters.server import ServerContext, Setup, create_app
from adapters.slack.settings import SlackSettings
from adapters.teams.access import is_loopback_host
from adapters.teams.endpoint import LISTEN_HOST_KEY
from adapters.teams.settings import TeamsSettings
from adapters.web import setup as web_console
from adapters.web.oidc_settings import OidcSettings
from adapters.web.settings import WebSettings
from bot.answering.engine import Engine, build_composer, build_engine, keep_data_local
from bot.answering.pool import Answering, AnswerPool, AnswerQueue
from bot.answering.workers import ProcessAnswerPool, WorkerLost, Zygote
from bot.assembly import build_assistant, policy_answerer
from bot.errors import ConfigurationError, KnowledgeIndexError
from bot.handoff.outbox import OutboxRelay
from bot.privacy.retention import purge_daily
from bot.settings import Settings
from bot.store import Store, open_store
from knowledge.batching import set_torch_threads
from knowledge.embedding import Embedder, SentenceTransformerEmbedder, model_name
from knowledge.index import check_model, make_client, pointed_collection, read_pointer

log = logging.getLogger(__name__)
DELIVERY_INTERVAL_SECONDS = 15.0
ANSWER_POOL_KEY = "answer_pool"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="run the HTTP server (Slack, Teams, web console)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3978)
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="answer worker processes (default POLICYBOT_ANSWER_PROCESSES, 0: answer on the "
        "server's own threads); about one per core beyond the first",
    )
    parser.set_defaults(handler=handle)


def enabled_adapters(settings: Settings, *, host: str = "127.0.0.1") -> list[Setup]:
    """The platform adapters this process serves; each checks its own settings.

    Teams is on with its credentials; without them (Emulator mode, no authentication) only
    on a loopback ``host`` or with POLICYBOT_TEAMS_ALLOW_UNAUTHENTICATED=true, so a server
    listening on every address (the shipped compose file) does not mount it at all.
    """
    adapters: list[Setup] = []
    teams_settings = TeamsSettings()
    if (
        teams_settings.auth_enabled
        or teams_settings.allow_unauthenticated
        or is_loopback_host(host)
    ):
        adapters.append(partial(teams.setup, settings=teams_settings))
    else:
        log.warning(
            "teams: /api/messages is off: MicrosoftAppId is not set and %s is not a loopback "
            "address; set MicrosoftAppId and MicrosoftAppPassword to serve Teams",
            host,
        )
    # Slack is on when its credentials are set (bot token plus signing secret or app token);
    # a half-configured Slack app fails here, at start-up, with the fix.
    slack_settings = SlackSettings()
    if slack_settings.configured:
        adapters.append(partial(slack.setup, settings=slack_settings))
    # The console's settings are read here too, so that a wrong one stops start-up early.
    adapters.append(partial(web_console, settings=WebSettings(), sso=OidcSettings()))
    return adapters


def check_before_loading(settings: Settings, *, host: str) -> list[Setup]:
    """What start-up can check without the embedding model, checked before its seconds of
    loading: the platform and console settings, the chat model settings, the database
    (reachable, at the current schema or migrated to it) and the index (Chroma reachable,
    its folder usable, built with the configured model, its collection present).

    Nothing opened here stays open: the database engine is disposed and the Chroma client
    closed (with them their connections and Chroma's native threads), so the zygote of
    :func:`answer_zygote` still forks from a process holding neither. Each failure is a
    :class:`PolicyBotError` naming the fix.

    Returns:
        The adapters to serve (see :func:`enabled_adapters`).
    """
    keep_data_local()
    adapters = enabled_adapters(settings, host=host)
    build_composer(settings)
    open_store(settings).close()
    check_index(settings)
    return adapters


def check_index(settings: Settings) -> None:
    """Open the configured Chroma, read the index pointer, compare its model with the
    configured one and find its collection; close.

    An index not built yet passes (the server ingests on first start).
    """
    try:
        client = make_client(index_dir=settings.resolved_index_dir, chroma_url=settings.chroma_url)
    except (OSError, chromadb.errors.ChromaError) as exc:  # only the on-disk client gets here
        raise KnowledgeIndexError(
            f"cannot open the index in {settings.resolved_index_dir} ({exc}); check "
            "POLICYBOT_INDEX_DIR (default POLICYBOT_DATA_DIR/index), or move that folder "
            "away and run `policybot ingest` to build a new index"
        ) from exc
    try:
        pointer = read_pointer(client)
        if pointer is None:
            return
        # The dimension waits for the model itself (the index checks it again then).
        check_model(pointer, model_name(settings.embedding_model))
        pointed_collection(client, pointer)
    finally:
        client.close()


def build_context(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    zygote: Zygote | None = None,
    processes: int = 0,
) -> ServerContext:
    """Everything the server shares, checked before it listens: the database (reachable, at
    the current schema), the Chroma server (reachable) and the index (built with the
    configured embedding model). Each failure is a :class:`PolicyBotError` naming the fix.

    With a ``zygote`` (see :func:`answer_zygote`), questions are answered by ``processes``
    worker processes forked from it, started with the app (:func:`answer_workers_task`).
    """
    store = open_store(settings)
    try:
        engine = build_engine(settings, embedder=embedder)
        report = engine.ensure_ingested()  # reads the pointer: checks the model and dimension
    except BaseException:
        store.close()
        raise
    engine.batch_questions(
        window=settings.embed_batch_window_ms / 1000, max_batch=settings.embed_batch_size
    )
    pool: AnswerQueue
    if zygote is not None and processes > 0:
        pool = ProcessAnswerPool(
            zygote, processes=processes, queue_limit=settings.answer_queue_limit
        )
    else:
        pool = AnswerPool(workers=settings.answer_workers, queue_limit=settings.answer_queue_limit)
    context = ServerContext(
        settings=settings, engine=engine, assistant=build_assistant(engine, store=store, pool=pool)
    )
    observe_pool(context, pool)
    if report is not None:
        context.metrics.observe_ingest(failed_files=len(report.failed))
    return context


def observe_pool(context: ServerContext, pool: AnswerQueue) -> None:
    """Export the answer queue in /metrics and keep the pool for shutdown."""
    context.extras[ANSWER_POOL_KEY] = pool
    if isinstance(pool, ProcessAnswerPool):
        observe_workers(context, pool)

    async def queue_length() -> dict[tuple[tuple[str, str], ...], float]:
        return {(): float(pool.in_flight)}

    async def refused() -> dict[tuple[tuple[str, str], ...], float]:
        return {(): float(pool.refused)}

    context.metrics.add_gauge(
        "policybot_answer_queue_length",
        "Questions waiting for or being answered in this process.",
        queue_length,
    )
    context.metrics.add_gauge(
        "policybot_answer_busy_replies",
        "Questions refused with a busy reply since this process started (queue full).",
        refused,
    )


def observe_workers(context: ServerContext, pool: ProcessAnswerPool) -> None:
    """Answer workers in /metrics (which processes answered, restarts) and /healthz."""

    async def answered() -> dict[tuple[tuple[str, str], ...], float]:
        live = {pid: 0 for pid in pool.ready_pids}
        counts = {**live, **pool.answered}
        return {(("pid", str(pid)),): float(count) for pid, count in counts.items()}

    async def restarts() -> dict[tuple[tuple[str, str], ...], float]:
        return {(): float(pool.restarts)}

    async def some_worker_ready() -> None:
        if not pool.ready_pids:
            raise WorkerLost("no answer worker process is running")

    context.metrics.add_gauge(
        "policybot_answer_worker_answers",
        "Answers worked out by each answer worker process (by pid) since the server started.",
        answered,
    )
    context.metrics.add_gauge(
        "policybot_answer_worker_restarts",
        "Answer worker processes that stopped and were replaced since the server started.",
        restarts,
    )
    context.extras.setdefault("health_checks", {})["answer_workers"] = some_worker_ready


def answer_zygote(settings: Settings) -> tuple[Embedder, Zygote]:
    """Load the embedding model, then fork the process answer workers are forked from.

    Called before the server opens a Chroma client or a database connection or starts a
    thread, and before the model first runs (see :mod:`bot.answering.workers`); after
    :func:`check_before_loading`, which closes what it opens."""
    keep_data_local()
    set_torch_threads(settings.torch_threads)
    log.info("loading the embedding model for the answer workers")
    embedder = SentenceTransformerEmbedder(settings.embedding_model)
    zygote = Zygote(
        partial(worker_answerer, settings, embedder),
        threads=settings.answer_workers,
        niceness=settings.answer_niceness,
    )
    return embedder, zygote


def worker_answerer(settings: Settings, embedder: Embedder) -> Answering:
    """In an answer worker: its own Chroma client, database engine and torch threads, and
    the answerer the server would use, warmed on the current index version (``build_engine``
    sets the torch threads)."""
    engine = build_engine(settings, embedder=embedder)
    engine.batch_questions(
        window=settings.embed_batch_window_ms / 1000, max_batch=settings.embed_batch_size
    )
    engine.index.calibration()  # loads the index version now, not on the first question
    embedder.embed(["warm-up"])
    return policy_answerer(engine, open_store(settings))


def answer_workers_task(
    pool: ProcessAnswerPool,
) -> Callable[[web.Application], AsyncIterator[None]]:
    """Start the answer workers before the server listens; stop them after everything else."""

    async def run(app: web.Application) -> AsyncIterator[None]:
        await pool.start()
        yield
        await pool.close()

    return run


def background(
    work: Callable[[], Coroutine[Any, Any, None]],
) -> Callable[[web.Application], AsyncIterator[None]]:
    """An aiohttp cleanup context running ``work`` while the app runs, cancelled at exit."""

    async def run(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(work())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return run


def retention_task(
    store: Store, settings: Settings
) -> Callable[[web.Application], AsyncIterator[None]]:
    """The retention purge, daily while the app runs."""
    return background(partial(purge_daily, store, settings))


def delivery_task(relay: OutboxRelay) -> Callable[[web.Application], AsyncIterator[None]]:
    """The outbox loop: notifications a request could not deliver are retried here, by the
    server process whichever adapters it serves."""
    return background(partial(relay.run, interval=DELIVERY_INTERVAL_SECONDS))


EFFECTIVE_CHECK_SECONDS = 300.0


async def switch_when_due(engine: Engine, *, interval: float = EFFECTIVE_CHECK_SECONDS) -> None:
    """Every few minutes: a stored version whose effective date has come takes over (one
    process ingests under the lock; every process then reads the new index)."""
    while True:
        try:
            await asyncio.to_thread(engine.switch_due)
        except Exception:  # a database or index blip: try again at the next interval
            log.warning("could not check for versions taking effect", exc_info=True)
        await asyncio.sleep(interval)


def effective_task(engine: Engine) -> Callable[[web.Application], AsyncIterator[None]]:
    return background(partial(switch_when_due, engine))


def handle(args: argparse.Namespace, settings: Settings) -> int:
    configure_server_logging(settings.log_level)
    processes = settings.answer_processes if args.workers is None else args.workers
    if processes < 0:
        raise ConfigurationError(f"--workers {processes}: give 0 or more answer processes")
    adapters = check_before_loading(settings, host=args.host)
    if processes == 0:
        return serve(args, settings, build_context(settings), adapters)
    embedder, zygote = answer_zygote(settings)
    try:
        context = build_context(settings, embedder=embedder, zygote=zygote, processes=processes)
        return serve(args, settings, context, adapters)
    finally:
        zygote.close()


def serve(
    args: argparse.Namespace, settings: Settings, context: ServerContext, adapters: list[Setup]
) -> int:
    context.extras[LISTEN_HOST_KEY] = args.host
    app = create_app(context, adapters)
    pool = context.extras[ANSWER_POOL_KEY]
    if isinstance(pool, ProcessAnswerPool):
        # First in, last out: the workers outlive the adapters' draining of answers.
        app.cleanup_ctx.insert(0, answer_workers_task(pool))
    app.cleanup_ctx.append(retention_task(context.assistant.store, settings))
    app.cleanup_ctx.append(delivery_task(context.assistant.deliveries))
    app.cleanup_ctx.append(effective_task(context.engine))
    web.run_app(app, host=args.host, port=args.port, print=None, access_log_class=AccessLogger)
    return 0
