"""The chat page: ask, read the answer with its citations, and act on it.

Every answer offers feedback (helpful / not helpful, with an optional comment), "Ask a
person" and "Report an AI incident"; the page also lists the visitor's own tickets. All of
it goes through the assistant's entrances (``handle`` and its typed methods for buttons
and forms), like Slack's and Teams' buttons. The page works as plain forms; its script
posts the same forms with ``X-Requested-With: fetch`` and swaps in the returned fragment.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from typing import Any

from aiohttp import web

from adapters.web.console import console_of, user_of
from adapters.web.render import render
from adapters.web.security import employee_id, wants_fragment
from bot.handoff.assignment import REPLIED
from bot.handoff.incident import INCIDENT_FORM, ConversationKey
from bot.handoff.keys import idempotency_key
from bot.handoff.ports import Reporter
from bot.history import Turn
from bot.limits import MAX_QUESTION_CHARS
from bot.models import Message, Reply
from bot.replies import STARTERS

PLATFORM = "web"


def reporter(request: web.Request) -> Reporter:
    user = user_of(request)
    return Reporter(
        platform=PLATFORM,
        user_id=employee_id(request),
        display_name=user.name if user is not None else None,
    )


def _message(request: web.Request, text: str, message_id: str | None = None) -> Message:
    who = reporter(request)
    return Message(
        text=text,
        user_id=who.user_id,
        platform=PLATFORM,
        conversation_id=who.user_id,
        message_id=message_id,
        display_name=who.display_name,
    )


def _turns(kept: list[Turn]) -> list[dict[str, Any]]:
    """Kept turns for the page; only the last keeps its buttons (earlier ones are read-only,
    so a step of a report can't be clicked out of order)."""
    return [
        {"id": f"h{n}", "question": turn.question, "reply": turn.reply, "past": n < len(kept) - 1}
        for n, turn in enumerate(kept)
    ]


async def chat_page(request: web.Request) -> web.Response:
    """The conversation so far this session, and an unfinished report offered back."""
    assistant = console_of(request).context.assistant
    key = ConversationKey.of(_message(request, ""))
    turns = _turns(await asyncio.to_thread(assistant.history.turns, key))
    offer = await assistant.unfinished_report(_message(request, ""))
    if offer is not None:
        turns.append({"id": "offer", "question": "", "reply": offer})
    return await _chat(request, turns=turns)


async def _chat(
    request: web.Request, *, turns: list[dict[str, Any]], error: str | None = None, status=200
) -> web.Response:
    console = console_of(request)
    tickets = await asyncio.to_thread(console.handoff.tickets_of, reporter(request), limit=10)
    replies = {}
    for ticket in tickets:  # the person's own requests only
        detail = await console.desk.show(ticket.reference)
        replies[ticket.reference] = [e for e in detail.events if e.action == REPLIED]
    return await render(
        request,
        "chat.html",
        status=status,
        title="Ask",
        turns=turns,
        error=error,
        tickets=tickets,
        replies=replies,
        starters=STARTERS,
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
    assistant = console.context.assistant
    message = _message(request, question, message_id)
    reply = await assistant.handle(message)
    key = ConversationKey.of(message)
    await asyncio.to_thread(assistant.history.add, key, question, reply)
    if wants_fragment(request):
        turn = {"id": f"t{message_id[:10]}", "question": question, "reply": reply}
        return await render(request, "_turn.html", turn=turn)
    return await _chat(request, turns=_turns(await asyncio.to_thread(assistant.history.turns, key)))


async def feedback(request: web.Request) -> web.Response:
    console = console_of(request)
    form = await request.post()
    answer_id = str(form.get("answer_id", "")) or None
    who = reporter(request)
    reply = await console.context.assistant.rate_answer(
        who,
        helpful=form.get("helpful") == "yes",
        comment=str(form.get("comment", "")),
        answer_id=answer_id,
        question=str(form.get("question", "")) or None,
        idempotency_key=idempotency_key("web-rating", answer_id, who.user_id)
        if answer_id
        else None,
    )
    return await _done(request, reply, str(form.get("question", "")))


async def ask_person(request: web.Request) -> web.Response:
    console = console_of(request)
    form = await request.post()
    answer_id = str(form.get("answer_id", "")) or None
    who = reporter(request)
    reply = await console.context.assistant.ask_person(
        who,
        answer_id=answer_id,
        question=str(form.get("question", "")) or None,
        note=str(form.get("note", "")),
        idempotency_key=idempotency_key("web-escalation", answer_id, who.user_id)
        if answer_id
        else None,
    )
    return await _done(request, reply)


async def _done(request: web.Request, reply: Reply, question: str = "") -> web.Response:
    """The outcome in place of the buttons, with whatever the reply still offers (after
    "Not helpful", "Ask a person" stays)."""
    ok = not reply.field_errors
    name = "_done.html" if wants_fragment(request) else "done.html"
    return await render(
        request,
        name,
        status=200 if ok else 400,
        title="Sent",
        reply=reply,
        ok=ok,
        question=question,
    )


async def incident_form(request: web.Request) -> web.Response:
    return await _incident_form(request, values={}, errors={})


async def _incident_form(
    request: web.Request,
    *,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> web.Response:
    return await render(
        request,
        "incident.html",
        status=status,
        title="Report an AI incident",
        fields=INCIDENT_FORM,
        values=values,
        errors=errors,
    )


async def report_incident(request: web.Request) -> web.Response:
    console = console_of(request)
    form = await request.post()
    values = {field.name: str(form.get(field.name, "")) for field in INCIDENT_FORM}
    who = reporter(request)
    reply = await console.context.assistant.submit_incident_form(
        who, values, idempotency_key=_incident_key(who, values)
    )
    if reply.field_errors or not reply.reference:
        return await _incident_form(request, values=values, errors=reply.field_errors, status=400)
    turn = {"id": "incident", "question": "", "reply": reply}
    return await render(request, "incident_done.html", title="Incident reported", turn=turn)


def _incident_key(who: Reporter, values: dict[str, str]) -> str:
    """The same person sending the same report again (Back, then Send; a double click; a
    reload that re-posts) gets the first ticket back instead of filing a second: the key is
    the report's content, not a token the browser may or may not have kept."""
    content = json.dumps({k: " ".join(v.split()) for k, v in sorted(values.items())})
    digest = hashlib.sha256(content.encode()).hexdigest()[:32]
    return idempotency_key("web-incident", who.user_id, digest)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", chat_page)
    app.router.add_post("/ask", ask)
    app.router.add_post("/feedback", feedback)
    app.router.add_post("/ask-person", ask_person)
    app.router.add_get("/incident", incident_form)
    app.router.add_post("/incident", report_incident)
