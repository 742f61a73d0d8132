"""Admin pages for the document store: an upload's preview before it is published, a
document's version history with the sections each ingest changed, and disable / remove.

Nothing an admin uploads answers anyone before they confirm it; a disabled or removed
document leaves the index at the ingest the action starts, and its history stays.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import quote

from aiohttp import web

from adapters.web.console import console_of, current_user
from adapters.web.ingestion import IngestBusy, UploadError, check_upload
from adapters.web.render import render
from bot.store.documents import (
    DISABLED,
    FOLDER,
    PUBLISHED,
    REMOVED_STATE,
    DocumentStore,
    StoredDocument,
    UnknownDocument,
    effective_date,
)
from knowledge.changes import SectionChange
from knowledge.documents import Document

_SETTABLE = {PUBLISHED, DISABLED, REMOVED_STATE}


@dataclass(frozen=True)
class Preview:
    """What was understood of an upload, and what the admin should check."""

    name: str
    title: str
    version: str | None
    effective: str | None
    kind: str
    sections: list[str]
    warnings: list[str]


def preview_of(name: str, document: Document, today: str) -> Preview:
    meta = document.metadata
    warnings = []
    if "title" not in meta:
        warnings.append(f"No title in the file: it will be cited as “{document.title}”.")
    if not document.version:
        warnings.append("No version: the store will number it.")
    effective = effective_date(document.effective)
    if not document.effective:
        warnings.append("No effective date: it applies from the day it is published.")
    elif effective is None:
        warnings.append(f"The effective date “{document.effective}” is not a YYYY-MM-DD date.")
    elif effective > today:
        warnings.append(
            f"Takes effect on {effective}: until then the version in force keeps answering."
        )
    if "kind" not in meta:
        warnings.append("No kind (policy, guidance…): it will be treated as a policy.")
    if len(document.sections) < 2:
        warnings.append("Only one section was found: check that the headings were recognised.")
    return Preview(
        name=name,
        title=document.title,
        version=document.version,
        effective=effective,
        kind=document.kind,
        sections=[section.label or document.title for section in document.sections],
        warnings=warnings,
    )


def documents_of(request: web.Request) -> DocumentStore:
    return DocumentStore(console_of(request).services.store)


def document_url(request: web.Request, name: str, suffix: str = "") -> str:
    return f"{request.app.router['admin'].url_for()}/documents/{quote(name, safe='')}{suffix}"


async def preview(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    documents = documents_of(request)
    try:
        versions = await asyncio.to_thread(documents.versions, name)
        if not versions or not versions[0].draft:
            raise web.HTTPSeeOther(document_url(request, name))
        data = await asyncio.to_thread(documents.content, name)
        document = await asyncio.to_thread(check_upload, name, data)
    except UnknownDocument as exc:
        raise web.HTTPNotFound(text=str(exc)) from exc
    except UploadError as exc:
        return await render(
            request,
            "document_preview.html",
            title="Preview",
            error=str(exc),
            preview=None,
            document_name=name,
        )
    engine = console_of(request).context.engine
    return await render(
        request,
        "document_preview.html",
        title="Preview",
        preview=preview_of(name, document, engine.today()),
        version=versions[0],
        document_name=name,
        error=None,
    )


async def publish(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    documents = documents_of(request)
    user = current_user(request)
    console = console_of(request)
    try:
        await asyncio.to_thread(documents.versions, name)
        job = await console.jobs.start(
            trigger="publish", actor=user.name, before=lambda: documents.publish(name)
        )
    except UnknownDocument as exc:
        raise web.HTTPNotFound(text=str(exc)) from exc
    except IngestBusy as busy:
        job = busy.job
    return _to_job(request, job.id)


async def discard(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    try:
        await asyncio.to_thread(documents_of(request).discard_draft, name)
    except UnknownDocument as exc:
        raise web.HTTPNotFound(text=str(exc)) from exc
    raise web.HTTPSeeOther(str(request.app.router["admin"].url_for()))


async def set_state(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    form = await request.post()
    state = str(form.get("state", ""))
    if state not in _SETTABLE:
        raise web.HTTPBadRequest(text=f"state must be one of {', '.join(sorted(_SETTABLE))}")
    documents = documents_of(request)
    console = console_of(request)
    try:
        await asyncio.to_thread(
            documents.set_state, name, state, folder_file=_is_folder_file(request, name)
        )
    except UnknownDocument as exc:
        raise web.HTTPNotFound(text=str(exc)) from exc
    try:
        job = await console.jobs.start(trigger=state[:16], actor=current_user(request).name)
    except IngestBusy as busy:
        job = busy.job
    return _to_job(request, job.id)


async def history(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    documents = documents_of(request)
    console = console_of(request)
    try:
        versions = await asyncio.to_thread(documents.versions, name)
    except UnknownDocument as exc:
        if not _is_folder_file(request, name):
            raise web.HTTPNotFound(text=str(exc)) from exc
        versions = []  # in a source folder, not yet read by an ingest that records versions
    stored = next(
        (d for d in await asyncio.to_thread(documents.documents) if d.name == name),
        StoredDocument(name, None, FOLDER, PUBLISHED, True, None),
    )
    changes: list[SectionChange] = await asyncio.to_thread(
        lambda: [c for c in documents.changes() if c.path == name]
    )
    grouped: dict[str, list[SectionChange]] = {}
    for change in changes:  # oldest first; shown newest version first, sections in order
        grouped.setdefault(change.new_version or change.old_version or "—", []).append(change)
    by_version = dict(reversed(grouped.items()))
    engine = console.context.engine
    rule = await asyncio.to_thread(engine.answerer.rule_in_force)
    return await render(
        request,
        "document.html",
        title=stored.title or name,
        document=stored,
        versions=versions,
        by_version=by_version,
        rule=rule,
        today=engine.today(),
        url=document_url(request, name),
    )


def _is_folder_file(request: web.Request, name: str) -> bool:
    sources = console_of(request).context.engine.settings.sources
    return "/" not in name and any((root / name).is_file() for root in sources)


def _to_job(request: web.Request, job_id: int) -> web.Response:
    raise web.HTTPSeeOther(f"{request.app.router['ingest_job'].url_for(job_id=str(job_id))}")


def add_routes(app: web.Application) -> None:
    # A folder's file is named with its subfolder ("hr/leave.md"): ``{name}`` spans slashes,
    # written raw or as %2F, so the routes with a suffix come before the bare one.
    app.router.add_get("/admin/documents/{name:.+}/preview", preview, name="document_preview")
    app.router.add_post("/admin/documents/{name:.+}/publish", publish)
    app.router.add_post("/admin/documents/{name:.+}/discard", discard)
    app.router.add_post("/admin/documents/{name:.+}/state", set_state)
    app.router.add_get("/admin/documents/{name:.+}", history, name="document")
