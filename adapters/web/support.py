"""The support queue: filter, open an item, claim, comment, severity, resolve, reopen, export.

Every change goes through :class:`bot.handoff.desk.SupportDesk` as the signed-in staff member, so
it lands in the ticket's audit trail and the reporter is notified on their platform. The
access middleware has already checked the support role for every route here.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import urlencode

from aiohttp import web

from adapters.web.console import PREFIX, console_of, current_user
from adapters.web.render import render
from bot.errors import ClaimConflict, HandoffError, InvalidInput, InvalidTransition, TicketNotFound
from bot.handoff.cards import CONFIRMATIONS, sla_text, ticket_card
from bot.handoff.lifecycle import SORTS
from bot.handoff.tickets import Severity, TicketKind, TicketQuery, TicketState

PAGE_SIZE = 50
SORT_LABELS = {
    "newest": "Newest first",
    "oldest": "Oldest first",
    "due": "Acknowledge by, soonest first",
    "severity": "Most severe first",
}


def query_of(request: web.Request) -> TicketQuery:
    """The queue's filters from the query string; unknown values are ignored."""
    params = request.query
    kind = params.get("kind", "")
    state = params.get("state", "")
    severity = params.get("severity", "")
    cursor = params.get("cursor", "")
    sort = params.get("sort", "")
    assignee = params.get("assignee", "").strip()[:255]
    if assignee == "me":  # "Mine": the signed-in staff member
        user = current_user(request)
        assignee = user.name
    return TicketQuery(
        kind=TicketKind(kind) if kind in set(TicketKind) else None,
        state=TicketState(state) if state in set(TicketState) else None,
        severity=Severity(severity) if severity in set(Severity) else None,
        assignee=None if not assignee else ("" if assignee == "nobody" else assignee),
        search=params.get("q", "").strip()[:200],
        sort=sort if sort in SORTS else "newest",
        overdue=params.get("overdue") == "1",
        limit=PAGE_SIZE,
        cursor=cursor[:100] or None,
    )


def filters_of(request: web.Request, query: TicketQuery) -> dict[str, str]:
    values = {
        "q": query.search,
        "kind": query.kind.value if query.kind else "",
        "state": query.state.value if query.state else "",
        "severity": query.severity.value if query.severity else "",
        "assignee": request.query.get("assignee", "").strip()[:255],
        "sort": "" if query.sort == "newest" else query.sort,
        "overdue": "1" if query.overdue else "",
    }
    return {key: value for key, value in values.items() if value}


async def queue_page(request: web.Request) -> web.Response:
    console = console_of(request)
    query = query_of(request)
    try:
        page = await console.desk.list_tickets(query)
    except InvalidInput:  # a cursor from another sort, or edited by hand: the first page
        query = replace(query, cursor=None)
        page = await console.desk.list_tickets(query)
    filters = filters_of(request, query)
    return await render(
        request,
        "support.html",
        title="Support queue",
        page=page,
        cards=[ticket_card(t) for t in page.tickets],
        query=query,
        filters=filters,
        filter_qs=urlencode(filters),
        next_qs=urlencode({**filters, "cursor": page.next_cursor}) if page.next_cursor else None,
        kinds=list(TicketKind),
        states=list(TicketState),
        severities=list(Severity),
        sorts=SORT_LABELS,
        sla=sla_text,
        now=datetime.now(UTC),
    )


async def export_csv(request: web.Request) -> web.Response:
    console = console_of(request)
    query = query_of(request)
    body = await console.desk.export_csv(replace(query, cursor=None, sort="newest"))
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    return web.Response(
        text=body,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="tickets-{stamp}.csv"'},
    )


async def ticket_page(
    request: web.Request, *, error: str | None = None, status: int = 200
) -> web.Response:
    console = console_of(request)
    reference = request.match_info["reference"]
    try:
        detail = await console.desk.show(reference)
    except TicketNotFound as exc:
        raise web.HTTPNotFound(text=str(exc)) from exc
    return await render(
        request,
        "ticket.html",
        status=status,
        title=detail.ticket.reference,
        detail=detail,
        ticket=detail.ticket,
        card=ticket_card(detail.ticket),
        severities=list(Severity),
        error=error,
        done=CONFIRMATIONS.get(request.query.get("done", "")),
        sla=sla_text,
        now=datetime.now(UTC),
    )


def _status_of(exc: HandoffError) -> int:
    if isinstance(exc, TicketNotFound):
        return 404
    if isinstance(exc, ClaimConflict | InvalidTransition):
        return 409
    return 400


async def change(request: web.Request) -> web.Response:
    """One staff action on a ticket; back to the ticket page with what happened."""
    console = console_of(request)
    user = current_user(request)
    reference = request.match_info["reference"]
    action = request.match_info["action"]
    form = await request.post()
    desk = console.desk
    try:
        if action == "claim":
            await desk.claim(reference, user.name)
        elif action == "comment":
            await desk.comment(reference, user.name, str(form.get("text", "")))
        elif action == "severity":
            await desk.set_severity(reference, str(form.get("severity", "")), user.name)
        elif action == "resolve":
            await desk.resolve(reference, user.name, str(form.get("note", "")))
        elif action == "reopen":
            await desk.reopen(reference, user.name, reason=str(form.get("reason", "")))
        elif action == "reply":
            await desk.reply(reference, user.name, str(form.get("text", "")))
        elif action == "reassign":
            await desk.reassign(reference, user.name, str(form.get("assignee", "")))
        elif action == "unassign":
            await desk.unassign(reference, user.name)
        else:
            raise web.HTTPNotFound()
    except HandoffError as exc:
        message = (
            "; ".join(f"{k}: {v}" for k, v in exc.errors.items())
            if isinstance(exc, InvalidInput)
            else str(exc)
        )
        return await ticket_page(request, error=message, status=_status_of(exc))
    raise web.HTTPSeeOther(f"{PREFIX}/support/{reference}?done={action}")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/support", queue_page)
    app.router.add_get("/support/export.csv", export_csv)
    app.router.add_get("/support/{reference:[A-Za-z]+-\\d{4}-\\d+}", ticket_page)
    app.router.add_post(
        "/support/{reference:[A-Za-z]+-\\d{4}-\\d+}/{action:claim|comment|severity|resolve|reopen|reply|reassign|unassign}",
        change,
    )
