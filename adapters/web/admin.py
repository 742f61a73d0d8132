"""Admin pages: documents in the index, upload and re-ingest with live progress, the chart.

The access middleware has already checked the admin role for every route here.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime
from functools import partial

from aiohttp import BodyPartReader, web

from adapters.web.chart import DayPoint, daily_chart_svg
from adapters.web.console import Console, console_of, current_user
from adapters.web.documents import list_documents
from adapters.web.ingestion import IngestBusy, UploadError, check_upload, upload_name
from adapters.web.policy_versions import document_url
from adapters.web.render import render
from adapters.web.security import multipart_of, wants_fragment
from adapters.web.stale import stale_context
from adapters.web.throttle import throttle_of
from bot.answering.gaps_answered import answered_gaps
from bot.answering.stale import stale_answers
from bot.handoff.announcements import (
    NoAnnounceChannel,
    NothingToAnnounce,
    announce,
    announcements,
    channels_of,
    pending,
)
from bot.handoff.stale_notes import QUEUED, REQUEUED, NotStale, notify
from bot.handoff.tickets import Gap
from bot.store.documents import DocumentStore
from knowledge.index import IndexUnavailable, read_pointer

log = logging.getLogger(__name__)
CHART_DAYS = 30


def _pointer(client: object) -> dict:
    """The live index's pointer, empty while Chroma cannot be reached (the page still shows)."""
    try:
        return read_pointer(client) or {}
    except IndexUnavailable:
        return {}


def _built_at(pointer: dict) -> datetime | str | None:
    """When the live index was built, as a moment the page shows in the organisation's time
    zone; the pointer's text as it is if it is not an ISO time (an index of older code)."""
    built = pointer.get("built")
    if not isinstance(built, str):
        return None
    try:
        moment = datetime.fromisoformat(built)
    except ValueError:
        return built
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def admin_page(
    request: web.Request,
    *,
    error: str | None = None,
    notice: str | None = None,
    status: int = 200,
) -> web.Response:
    console = console_of(request)
    engine = console.context.engine
    documents = await asyncio.to_thread(
        list_documents, engine.settings.sources, engine.index, DocumentStore(console.services.store)
    )
    runs = await asyncio.to_thread(console.activity.ingest_runs, limit=5)
    days = await chart_points(console)
    gaps = await _knowledge_gaps(console)
    store_documents = DocumentStore(console.services.store)
    changes = await asyncio.to_thread(store_documents.changes)
    gaps_answered = await asyncio.to_thread(answered_gaps, gaps, engine.answerer, changes)
    names = [user.name for user in await asyncio.to_thread(console.accounts.users)]
    store = console.services.store
    coverage_run = next(
        (
            run
            for run in await asyncio.to_thread(console.activity.ingest_runs, limit=50)
            if run.report and run.report.get("coverage")
        ),
        None,
    )
    under_attack = await asyncio.to_thread(throttle_of(console).under_attack, names)
    return await render(
        request,
        "admin.html",
        status=status,
        title="Admin",
        documents=documents,
        runs=runs,
        job=console.jobs.current,
        index_built=_built_at(await asyncio.to_thread(_pointer, engine.index.client)),
        error=error,
        totals={
            "questions": sum(d.questions for d in days),
            "not_found": sum(d.not_found for d in days),
            "helpful": sum(d.helpful for d in days),
            "unhelpful": sum(d.unhelpful for d in days),
        },
        days=days,
        gaps=gaps,
        gaps_answered=gaps_answered,
        **await stale_context(console),
        recent_changes=changes[-10:][::-1],
        announce_channels=channels_of(console.context.settings),
        unannounced=await asyncio.to_thread(pending, store),
        announced=await asyncio.to_thread(announcements, store, limit=5),
        notice=notice,
        coverage_run=coverage_run,
        coverage=coverage_run.report["coverage"] if coverage_run and coverage_run.report else None,
        max_mb=console.settings.upload_max_mb,
        under_attack=under_attack,
    )


async def chart_points(console: Console) -> list[DayPoint]:
    counts = await asyncio.to_thread(console.activity.questions_per_day, days=CHART_DAYS)
    feedback = await _feedback_per_day(console)
    return [
        DayPoint(
            day=c.day,
            questions=c.questions,
            not_found=c.not_found,
            helpful=feedback.get(c.day, (0, 0))[0],
            unhelpful=feedback.get(c.day, (0, 0))[1],
        )
        for c in counts
    ]


async def _feedback_per_day(console: Console) -> dict[date, tuple[int, int]]:
    return await console.desk.feedback_per_day(days=CHART_DAYS)


async def _knowledge_gaps(console: Console) -> list[Gap]:
    return await console.desk.knowledge_gaps()


async def chart_svg(request: web.Request) -> web.Response:
    points = await chart_points(console_of(request))
    return web.Response(text=daily_chart_svg(points), content_type="image/svg+xml")


async def reingest(request: web.Request) -> web.Response:
    console = console_of(request)
    user = current_user(request)
    try:
        job = await console.jobs.start(trigger="reingest", actor=user.name)
    except IngestBusy as busy:
        job = busy.job
    return _to_job(request, job.id)


async def upload(request: web.Request) -> web.Response:
    console = console_of(request)
    user = current_user(request)
    limit = int(console.settings.upload_max_mb * 1024 * 1024)
    name, data = None, bytearray()
    try:
        reader = await multipart_of(request)
        async for part in reader:
            if not isinstance(part, BodyPartReader) or part.name != "file" or not part.filename:
                continue
            name = upload_name(part.filename)
            while chunk := await part.read_chunk(64 * 1024):  # type: ignore[union-attr]
                data.extend(chunk)
                if len(data) > limit:
                    raise UploadError(f"the file is larger than {limit // (1024 * 1024)} MB")
            break
        if name is None:
            raise UploadError("choose a policy file to upload")
        await asyncio.to_thread(check_upload, name, bytes(data))
        documents = DocumentStore(console.services.store)
        await asyncio.to_thread(
            documents.add_upload, name, bytes(data), uploaded_by=user.name, draft=True
        )
    except UploadError as exc:
        return await admin_page(request, error=str(exc), status=400)
    log.info("policy file uploaded as a draft", extra={"bytes": len(data)})
    # Nothing answers from it yet: the admin checks what was understood, then publishes.
    location = document_url(request, name, "/preview")
    if wants_fragment(request):
        return web.json_response({"url": location})
    raise web.HTTPSeeOther(location)


def _to_job(request: web.Request, job_id: int) -> web.Response:
    location = f"{request.app.router['ingest_job'].url_for(job_id=str(job_id))}"
    if wants_fragment(request):
        return web.json_response({"job": job_id, "url": location})
    raise web.HTTPSeeOther(location)


async def ingest_job(request: web.Request) -> web.Response:
    console = console_of(request)
    job_id = int(request.match_info["job_id"])
    job = console.jobs.jobs.get(job_id)
    if request.query.get("format") == "json":
        if job is not None:
            return web.json_response(job.as_json())
        run = next(
            (
                r
                for r in await asyncio.to_thread(console.activity.ingest_runs, limit=50)
                if r.id == job_id
            ),
            None,
        )
        if run is None:
            raise web.HTTPNotFound()
        state = "failed" if run.error else "done" if run.finished_at else "running"
        return web.json_response(
            {"id": run.id, "state": state, "report": run.report, "error": run.error}
        )
    if job is None:
        raise web.HTTPSeeOther(str(request.app.router["admin"].url_for()))
    if request.query.get("format") == "fragment":
        return await render(request, "_job.html", job=job)
    return await render(request, "ingest_job.html", title="Ingest", job=job)


# Deliveries started by a click, kept referenced until they finish.
_posting: set[asyncio.Task[int]] = set()


async def post_announcement(request: web.Request) -> web.Response:
    """Record an announcement of the changes not announced yet, then deliver it now (the
    server's relay would within seconds anyway); nothing is recorded without a channel."""
    console = console_of(request)
    store = console.services.store
    user = current_user(request)
    try:
        made = await asyncio.to_thread(announce, store, console.context.settings, by=user.name)
    except NoAnnounceChannel as exc:
        return await admin_page(request, error=str(exc), status=409)
    except NothingToAnnounce as exc:
        return await admin_page(request, notice=f"{exc}.", status=200)
    task = asyncio.get_running_loop().create_task(console.services.relay.deliver_pending())
    _posting.add(task)
    task.add_done_callback(_posting.discard)
    where = " and ".join(f"{p.capitalize()} {c}" for p, c in made.channels.items())
    return await admin_page(
        request,
        notice=f"Announcement of {made.change_count} changed section(s) sent to {where}.",
    )


async def send_notes(request: web.Request) -> web.Response:
    """An admin's click: the note to one asker (``answer_id``) or to every asker who can be
    reached; then deliver now (the server's relay would within seconds anyway)."""
    console = console_of(request)
    form = await request.post()
    answer_id = str(form.get("answer_id") or "").strip()
    zone = console.context.settings.zone
    store = console.services.store
    stale = await asyncio.to_thread(partial(stale_answers, store, zone=zone))
    try:
        outcomes = await asyncio.to_thread(
            partial(
                notify,
                store,
                stale,
                console.context.engine.answerer.answer,
                by=current_user(request).name,
                answer_ids=[answer_id] if answer_id else [],
                zone=zone,
            )
        )
    except NotStale as exc:
        return await admin_page(request, error=str(exc), status=404)
    sent = [o for o in outcomes if o.state in (QUEUED, REQUEUED)]
    if sent:
        task = asyncio.get_running_loop().create_task(console.services.relay.deliver_pending())
        _posting.add(task)
        task.add_done_callback(_posting.discard)
    others = [o for o in outcomes if o not in sent]
    notice = f"Note sent to {len(sent)} asker{'s' if len(sent) != 1 else ''}."
    if others:
        notice += " " + "; ".join(f"{o.answer_id[:8]}…: {o.detail}" for o in others[:5]) + "."
    return await admin_page(request, notice=notice)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/admin/announce", post_announcement)
    app.router.add_post("/admin/stale/notify", send_notes)
    app.router.add_get("/admin", admin_page, name="admin")
    app.router.add_get("/admin/chart.svg", chart_svg)
    app.router.add_post("/admin/ingest", reingest)
    app.router.add_post("/admin/upload", upload)
    app.router.add_get("/admin/ingest/{job_id:\\d+}", ingest_job, name="ingest_job")
