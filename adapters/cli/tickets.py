"""``policybot tickets``: the support queue from a shell.

``list`` and ``show`` print a table or, with ``--json``, one JSON object on stdout. Changes
(claim, comment, severity, resolve, reopen) are recorded with ``--as`` as the actor
(default: your login name); the reporter's notification is queued in the database and
delivered by the running ``policybot serve``. An unknown reference, a refused change or a
bad value exits with 2 and says why on stderr.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, tzinfo

from bot.handoff.lifecycle import SupportQueue
from bot.handoff.tickets import Severity, Ticket, TicketDetail, TicketKind, TicketQuery, TicketState
from bot.settings import Settings
from bot.store import open_store


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("tickets", help="the support queue: list, claim, resolve, ...")
    commands = parser.add_subparsers(dest="tickets_command", required=True, metavar="ACTION")

    listing = commands.add_parser("list", help="list tickets, newest first")
    add_filters(listing)
    listing.add_argument("--limit", type=int, default=50, help="tickets per page (default 50)")
    listing.add_argument("--cursor", help="the next_cursor of the previous page")
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    listing.set_defaults(handler=handle_list)

    show = commands.add_parser("show", help="a ticket with its audit trail and comments")
    show.add_argument("reference", metavar="ID", help="e.g. INC-2026-0042")
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.set_defaults(handler=handle_show)

    claim = commands.add_parser("claim", help="take a ticket (the reporter is told)")
    claim.add_argument("reference", metavar="ID")
    add_actor(claim)
    claim.set_defaults(handler=lambda a, s: change(s, lambda q: q.claim(a.reference, a.actor)))

    comment = commands.add_parser("comment", help="add an internal comment")
    comment.add_argument("reference", metavar="ID")
    comment.add_argument("text", help="the comment (not sent to the reporter)")
    add_actor(comment)
    comment.set_defaults(
        handler=lambda a, s: change(s, lambda q: q.comment(a.reference, a.actor, a.text))
    )

    severity = commands.add_parser("severity", help="set the severity")
    severity.add_argument("reference", metavar="ID")
    severity.add_argument("level", choices=[s.value for s in Severity])
    add_actor(severity)
    severity.set_defaults(
        handler=lambda a, s: change(s, lambda q: q.set_severity(a.reference, a.level, a.actor))
    )

    resolve = commands.add_parser("resolve", help="close a ticket (the reporter gets the note)")
    resolve.add_argument("reference", metavar="ID")
    resolve.add_argument("--note", required=True, help="the resolution, sent to the reporter")
    add_actor(resolve)
    resolve.set_defaults(
        handler=lambda a, s: change(s, lambda q: q.resolve(a.reference, a.actor, a.note))
    )

    reopen = commands.add_parser("reopen", help="reopen a resolved ticket")
    reopen.add_argument("reference", metavar="ID")
    reopen.add_argument("--reason", default="", help="why, for the audit trail")
    reopen.add_argument(
        "--unassign", action="store_true", help="back to the open queue instead of its assignee"
    )
    add_actor(reopen)
    reopen.set_defaults(
        handler=lambda a, s: change(
            s,
            lambda q: q.reopen(a.reference, a.actor, reason=a.reason, keep_assignee=not a.unassign),
        )
    )

    export = commands.add_parser("export", help="every matching ticket as CSV on stdout")
    export.add_argument("--format", choices=["csv"], default="csv")
    add_filters(export)
    export.set_defaults(handler=handle_export)


def add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--status", choices=[s.value for s in TicketState])
    parser.add_argument("--kind", choices=[k.value for k in TicketKind])
    parser.add_argument("--overdue", action="store_true", help="open incidents past their deadline")


def add_actor(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--as",
        dest="actor",
        metavar="USER",
        default=getpass.getuser(),
        help="who does this, for the audit trail (default: your login name)",
    )


def query_of(args: argparse.Namespace) -> TicketQuery:
    return TicketQuery(
        state=TicketState(args.status) if args.status else None,
        kind=TicketKind(args.kind) if args.kind else None,
        overdue=args.overdue,
        limit=getattr(args, "limit", 50),
        cursor=getattr(args, "cursor", None),
    )


@contextmanager
def support_queue(settings: Settings) -> Iterator[SupportQueue]:
    store = open_store(settings)
    try:
        yield SupportQueue(store, settings)
    finally:
        store.close()


def handle_list(args: argparse.Namespace, settings: Settings) -> int:
    with support_queue(settings) as queue:
        page = queue.list_tickets(query_of(args))
    if args.json:
        print(
            json.dumps(
                {
                    "total": page.total,
                    "next_cursor": page.next_cursor,
                    "tickets": [t.as_json() for t in page.tickets],
                },
                ensure_ascii=False,
            )
        )
        return 0
    if not page.tickets:
        print("No tickets match.", file=sys.stderr)
        return 0
    now = datetime.now(UTC)
    print(
        f"{'ID':<15} {'KIND':<10} {'STATE':<8} {'SEVERITY':<8} {'AGE':>5}  {'ASSIGNEE':<12} TITLE"
    )
    for t in page.tickets:
        flag = " OVERDUE" if t.overdue else ""
        print(
            f"{t.reference:<15} {t.kind.value:<10} {t.state.value:<8} {t.severity.value:<8} "
            f"{age(now, t.created_at):>5}  {(t.assignee or '-')[:12]:<12} {t.title}{flag}"
        )
    shown = len(page.tickets)
    more = f"; next page: --cursor {page.next_cursor}" if page.next_cursor else ""
    print(f"{shown} of {page.total} shown{more}", file=sys.stderr)
    return 0


def handle_show(args: argparse.Namespace, settings: Settings) -> int:
    with support_queue(settings) as queue:
        detail = queue.show(args.reference)
    if args.json:
        print(json.dumps(detail.as_json(), ensure_ascii=False))
    else:
        print(format_detail(detail, settings.zone))
    return 0


def handle_export(args: argparse.Namespace, settings: Settings) -> int:
    with support_queue(settings) as queue:
        count = queue.export_csv(sys.stdout, query_of(args))
    print(f"{count} tickets exported", file=sys.stderr)
    return 0


def change(settings: Settings, action: Callable[[SupportQueue], Ticket]) -> int:
    """Run one change; its notifications wait in the store for the server to deliver."""
    with support_queue(settings) as queue:
        ticket = action(queue)
    print(summary(ticket))
    return 0


def summary(ticket: Ticket) -> str:
    who = f", {ticket.assignee}" if ticket.assignee else ""
    return f"{ticket.reference}: {ticket.state.value}{who}, severity {ticket.severity.value}"


def format_detail(detail: TicketDetail, zone: tzinfo = UTC) -> str:
    """A ticket for the terminal, its times in ``zone`` (the organisation's time zone)."""
    t = detail.ticket

    def stamp(when: datetime) -> str:
        return local_stamp(when, zone)

    lines = [
        f"{t.reference}  {t.kind.value}  {t.state.value}{'  OVERDUE' if t.overdue else ''}",
        t.title,
        "",
        f"Severity:    {t.severity.value}",
        f"Reporter:    {t.reporter.display_name or t.reporter.user_id} ({t.reporter.platform})",
        f"Assignee:    {t.assignee or '-'}",
        f"Created:     {stamp(t.created_at)}",
    ]
    if t.ack_due_at:
        lines.append(f"Acknowledge: by {stamp(t.ack_due_at)}")
    if t.resolution:
        lines.append(f"Resolution:  {t.resolution}")
    lines += ["", t.body]
    for key, value in t.details.items():
        if value and not isinstance(value, list | dict):
            lines.append(f"  {key.replace('_', ' ')}: {value}")
    for c in t.details.get("citations") or []:
        lines.append(f"  [{c.get('n')}] {c.get('document')} › {c.get('section')}")
    lines += ["", "History:"]
    for e in detail.events:
        move = f" {e.from_state or '-'} -> {e.to_state}" if e.from_state != e.to_state else ""
        extra = f": {e.detail}" if e.detail else ""
        lines.append(f"  {stamp(e.at)}  {e.actor}  {e.action}{move}{extra}")
    if detail.comments:
        lines += ["", "Comments:"]
        lines += [f"  {stamp(c.at)}  {c.author}: {c.text}" for c in detail.comments]
    return "\n".join(lines)


def local_stamp(when: datetime, zone: tzinfo) -> str:
    local = when.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or 'UTC'}"


def age(now: datetime, then: datetime) -> str:
    minutes = int((now - then).total_seconds() // 60)
    if minutes < 60:
        return f"{minutes}m"
    if minutes < 48 * 60:
        return f"{minutes // 60}h"
    return f"{minutes // (24 * 60)}d"
