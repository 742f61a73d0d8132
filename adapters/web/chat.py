"""The chat page: ask, read the answer with its citations, and act on it.

Every answer offers feedback (helpful / not helpful, with an optional comment), "Ask a
person" and "Report an AI incident"; the page also lists the visitor's own tickets. The
page works as plain forms; its script posts the same forms with ``X-Requested-With: fetch``
and swaps in the returned fragment.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from aiohttp import web

from adapters.web.console import console_of, user_of
from adapters.web.render import render
from adapters.web.security import employee_id, wants_fragment
from bot.errors import HandoffError, InvalidInput
from bot.models import Message, Reply
from bot.ports import Reporter
from bot.tickets import AnswerRecord, Escalation, IncidentReport, Rating

MAX_QUESTION_CHARS = 4000
PLATFORM = "web"
INCIDENT_GUIDANCE_QUESTION = "What should I do straight after an AI incident or data leak?"


def reporter(request: web.Request) -> Reporter:
    user = user_of(request)
    return Reporter(
        platform=PLATFORM,
        user_id=employee_id(request),
        display_name=user.name if user is not None else None,
    )


async def chat_page(request: web.Request) -> web.Response:
    return await _chat(request, turns=[])


async def _chat(
    request: web.Request, *, turns: list[dict[str, Any]], error: str | None = None, status=200
) -> web.Response:
    console = console_of(request)
    tickets = await asyncio.to_thread(console.handoff.tickets_of, reporter(request), limit=10)
    return await render(
        request, "chat.html", status=status, title="Ask", turns=turns, error=error, tickets=tickets
    )


async def ask(request: web.Request) -> web.Response:
    console = console_of(request)
    form = await request.post()
    question = str(form.get("question", "")).strip()
    error = None
    if not question:
        error = "Type a question first."
    elif len(question) > MAX_QUESTION_CHARS:
        error = f"Please keep the question under {MAX_QUESTION_CHARS} characters."
    if error:
        if wants_fragment(request):
            return await render(request, "_error.html", status=400, error=error)
        return await _chat(request, turns=[], error=error, status=400)
    message_id = uuid.uuid4().hex
    sender = employee_id(request)
    message = Message(
        text=question,
        user_id=sender,
        platform=PLATFORM,
        conversation_id=sender,
        message_id=message_id,
        display_name=(user_of(request).name if user_of(request) else None),
    )
    reply = await console.context.assistant.handle(message)
    answer_id = reply.answer_id or await _record(console.handoff, sender, question, reply)
    turn = {
        "id": f"t{message_id[:10]}",
        "question": question,
        "reply": reply,
        "answer_id": answer_id,
    }
    if wants_fragment(request):
        return await render(request, "_turn.html", turn=turn)
    return await _chat(request, turns=[turn])


async def _record(handoff: Any, sender: str, question: str, reply: Reply) -> str | None:
    """Keep the answer for feedback and escalation (the core does it when it is wired to
    the hand-off service; then ``reply.answer_id`` is already set)."""
    if reply.status is None:
        return None
    record = AnswerRecord(
        platform=PLATFORM,
        asker_key=sender,
        question=question,
        answer=reply.text,
        status=reply.status.value,
        citations=reply.citations,
    )
    return await asyncio.to_thread(handoff.record_answer, record)


async def feedback(request: web.Request) -> web.Response:
    console = console_of(request)
    form = await request.post()
    answer_id = str(form.get("answer_id", "")) or None
    helpful = form.get("helpful") == "yes"
    who = reporter(request)
    rating = Rating(
        reporter=who,
        helpful=helpful,
        comment=str(form.get("comment", "")),
        answer_id=answer_id,
        question=str(form.get("question", "")) or None,
        idempotency_key=f"web-rating:{answer_id}:{who.user_id}" if answer_id else None,
    )
    try:
        receipt = await asyncio.to_thread(console.handoff.submit_feedback, rating)
    except HandoffError as exc:
        return await _done(request, str(exc), status=400)
    await console.relay.deliver_pending()
    if receipt.ticket is not None:
        text = f"Thanks. The support team will look at this answer ({receipt.ticket.reference})."
    else:
        text = "Thanks for the feedback."
    return await _done(request, text)


async def ask_person(request: web.Request) -> web.Response:
    console = console_of(request)
    form = await request.post()
    answer_id = str(form.get("answer_id", "")) or None
    who = reporter(request)
    escalation = Escalation(
        reporter=who,
        answer_id=answer_id,
        question=str(form.get("question", "")),
        note=str(form.get("note", "")),
        idempotency_key=f"web-escalation:{answer_id}:{who.user_id}" if answer_id else None,
    )
    try:
        submitted = await asyncio.to_thread(console.handoff.escalate, escalation)
    except HandoffError as exc:
        return await _done(request, str(exc), status=400)
    await console.relay.deliver_pending()
    reference = submitted.ticket.reference
    return await _done(
        request,
        f"Passed to the support team as {reference}. You can follow it under Your requests.",
        reference=reference,
    )


async def _done(
    request: web.Request, text: str, *, status: int = 200, reference: str | None = None
) -> web.Response:
    name = "_done.html" if wants_fragment(request) else "done.html"
    return await render(
        request, name, status=status, title="Sent", text=text, ok=status < 400, reference=reference
    )


async def incident_form(request: web.Request) -> web.Response:
    return await render(
        request,
        "incident.html",
        title="Report an AI incident",
        values={},
        errors={},
        nonce=uuid.uuid4().hex,
    )


INCIDENT_FIELDS = (
    "what_happened",
    "tool",
    "data_involved",
    "happened_at",
    "discovered_at",
    "contained",
    "contact",
)


async def report_incident(request: web.Request) -> web.Response:
    console = console_of(request)
    form = await request.post()
    values = {name: str(form.get(name, "")) for name in INCIDENT_FIELDS}
    nonce = str(form.get("nonce", ""))[:64] or uuid.uuid4().hex
    report = IncidentReport(
        reporter=reporter(request), idempotency_key=f"web-incident:{nonce}", **values
    )
    try:
        submitted = await asyncio.to_thread(console.handoff.report_incident, report)
    except InvalidInput as exc:
        return await render(
            request,
            "incident.html",
            status=400,
            title="Report an AI incident",
            values=values,
            errors=exc.errors,
            nonce=nonce,
        )
    await console.relay.deliver_pending()
    guidance = await asyncio.to_thread(
        console.context.engine.answerer.answer, INCIDENT_GUIDANCE_QUESTION
    )
    return await render(
        request,
        "incident_done.html",
        title="Incident reported",
        ticket=submitted.ticket,
        guidance=guidance,
        hours=console.context.settings.incident_ack_hours,
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", chat_page)
    app.router.add_post("/ask", ask)
    app.router.add_post("/feedback", feedback)
    app.router.add_post("/ask-person", ask_person)
    app.router.add_get("/incident", incident_form)
    app.router.add_post("/incident", report_incident)
