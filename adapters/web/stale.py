"""The console's list of answers that went stale: support staff see it (``/support/stale``,
the support role checked by the access middleware); the admin page shows it too, with the
buttons that send the askers a note (``adapters.web.admin.send_notes``).
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

from aiohttp import web

from adapters.web.console import Console, console_of
from adapters.web.render import render
from bot.answering.stale import stale_answers
from bot.handoff.stale_notes import note_states, note_status

SHOWN = 20


async def stale_context(console: Console) -> dict[str, Any]:
    """What ``_stale.html`` shows: the stale answers, where each one's note stands, and
    which askers can still be sent one."""
    store = console.services.store
    zone = console.context.settings.zone
    stale = await asyncio.to_thread(partial(stale_answers, store, limit=SHOWN, zone=zone))
    states = await asyncio.to_thread(note_states, store, [a.answer_id for a in stale])
    notifiable_ids = {
        a.answer_id
        for a in stale
        if a.reachable and (a.answer_id not in states or states[a.answer_id].sent_at is None)
    }
    return {
        "stale": stale,
        "note_status": {a.answer_id: note_status(a, states.get(a.answer_id)) for a in stale},
        "notifiable_ids": notifiable_ids,
        "requested_ids": set(states),
        "notifiable": len(notifiable_ids),
    }


async def stale_page(request: web.Request) -> web.Response:
    context = await stale_context(console_of(request))
    return await render(request, "stale.html", title="Stale answers", **context)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/support/stale", stale_page)
