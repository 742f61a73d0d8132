"""The chat page: ask a question, read the answer with its citations.

The page works as plain forms; its script posts the same forms with
``X-Requested-With: fetch`` and appends the returned answer card to the conversation.
"""

from __future__ import annotations

import uuid

from aiohttp import web

from adapters.web.console import console_of
from adapters.web.render import render
from adapters.web.security import employee_id, wants_fragment
from bot.models import Message

MAX_QUESTION_CHARS = 4000
PLATFORM = "web"


async def chat_page(request: web.Request) -> web.Response:
    return await render(request, "chat.html", title="Ask", turns=[], error=None)


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
        return await render(request, "chat.html", status=400, title="Ask", turns=[], error=error)
    message_id = uuid.uuid4().hex
    sender = employee_id(request)
    message = Message(
        text=question,
        user_id=sender,
        platform=PLATFORM,
        conversation_id=sender,
        message_id=message_id,
    )
    reply = await console.context.assistant.handle(message)
    turn = {
        "id": f"t{message_id[:10]}",
        "message_id": message_id,
        "question": question,
        "reply": reply,
    }
    if wants_fragment(request):
        return await render(request, "_turn.html", turn=turn)
    return await render(request, "chat.html", title="Ask", turns=[turn], error=None)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", chat_page)
    app.router.add_post("/ask", ask)
