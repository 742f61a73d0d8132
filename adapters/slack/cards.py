"""The support channel's ticket card: Block Kit for a :class:`bot.handoff.tickets.Ticket`. Pure.

One card per ticket, updated in place as the ticket moves (open -> claimed -> resolved);
its buttons are what the ticket's state allows. Everything shown comes from the store, so
it is the redacted text, never what the employee typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.slack.render import Block, button, context, escape, section, truncate
from bot.handoff.incident import FIELDS_BY_NAME
from bot.handoff.tickets import Ticket, TicketKind, TicketState

CLAIM = "policybot_ticket_claim"
RESOLVE = "policybot_ticket_resolve"

STATE_LABELS = {
    TicketState.OPEN: ":large_orange_circle: Open",
    TicketState.CLAIMED: ":large_blue_circle: Claimed",
    TicketState.RESOLVED: ":white_check_mark: Resolved",
}
KIND_LABELS = {
    TicketKind.INCIDENT: "AI incident",
    TicketKind.ESCALATION: "Question for a person",
    TicketKind.FEEDBACK: "Feedback",
}
MAX_FIELD_CHARS = 600


def reporter_label(ticket: Ticket) -> str:
    reporter = ticket.reporter
    if reporter.platform == "slack":
        return f"<@{reporter.user_id}>"
    name = escape(reporter.display_name) if reporter.display_name else "someone"
    return f"{name} on {escape(reporter.platform)}"


def _detail_lines(ticket: Ticket) -> list[str]:
    details: Mapping[str, Any] = ticket.details
    lines: list[str] = []
    if ticket.kind is TicketKind.INCIDENT:
        for name, value in details.items():
            if name in FIELDS_BY_NAME and value:
                label = FIELDS_BY_NAME[name].label
                lines.append(f"*{escape(label)}:* {escape(truncate(str(value), MAX_FIELD_CHARS))}")
    else:
        for name, label in (("question", "Question"), ("answer", "The bot's answer")):
            if details.get(name):
                text = truncate(str(details[name]), MAX_FIELD_CHARS)
                lines.append(f"*{label}:* {escape(text)}")
        if details.get("comment"):
            lines.append(f"*Comment:* {escape(truncate(str(details['comment']), MAX_FIELD_CHARS))}")
        if details.get("note"):
            lines.append(f"*Note:* {escape(truncate(str(details['note']), MAX_FIELD_CHARS))}")
    return lines


def ticket_blocks(ticket: Ticket) -> list[Block]:
    """The card: reference, kind, state, severity, who reported, the details, the buttons."""
    header = (
        f"*{ticket.reference}* · {KIND_LABELS[ticket.kind]} · severity {ticket.severity.value} · "
        f"{STATE_LABELS[ticket.state]}"
    )
    blocks: list[Block] = [
        section(header, block_id="ticket_header"),
        section(escape(truncate(ticket.body or ticket.title, 2900)), block_id="ticket_body"),
    ]
    lines = _detail_lines(ticket)
    if lines:
        blocks.append(section(truncate("\n".join(lines), 2900), block_id="ticket_details"))
    status = [f"Reported by {reporter_label(ticket)}"]
    if ticket.ack_due_at and ticket.state is TicketState.OPEN:
        due = ticket.ack_due_at.strftime("%Y-%m-%d %H:%M UTC")
        status.append(f"{':warning: overdue, ' if ticket.overdue else ''}claim by {due}")
    if ticket.assignee:
        status.append(f"claimed by {escape(ticket.assignee)}")
    blocks.append(context(" · ".join(status), block_id="ticket_status"))
    if ticket.state is TicketState.RESOLVED and ticket.resolution:
        resolution = escape(truncate(ticket.resolution, 2800))
        blocks.append(section(f"*Resolution:* {resolution}", block_id="ticket_resolution"))
    buttons = []
    if ticket.state is TicketState.OPEN:
        buttons.append(button("Claim", CLAIM, ticket.reference, style="primary"))
    if ticket.state is not TicketState.RESOLVED:
        buttons.append(button("Resolve", RESOLVE, ticket.reference))
    if buttons:
        blocks.append({"type": "actions", "block_id": "ticket_actions", "elements": buttons})
    return blocks


def ticket_text(ticket: Ticket) -> str:
    """The card's top-level text (notifications, screen readers)."""
    return truncate(
        f"{ticket.reference} ({KIND_LABELS[ticket.kind]}, {ticket.state.value}): {ticket.title}",
        300,
    )
