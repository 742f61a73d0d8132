"""The support channel's ticket card: Block Kit for a :class:`bot.handoff.tickets.Ticket`. Pure.

One card per ticket, updated in place as the ticket moves (open -> claimed -> resolved);
its buttons are what the ticket's state allows. Everything shown comes from the store, so
it is the redacted text, never what the employee typed.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from adapters.slack.render import Block, button, context, escape, section
from bot.handoff.cards import CardAction, TicketCard, ticket_card
from bot.handoff.tickets import Ticket, TicketState
from bot.limits import truncate

CLAIM = "policybot_ticket_claim"
RESOLVE = "policybot_ticket_resolve"
REPLY = "policybot_ticket_reply"
REASSIGN = "policybot_ticket_reassign"
UNASSIGN = "policybot_ticket_unassign"

STATE_ICONS = {
    TicketState.OPEN: ":large_orange_circle:",
    TicketState.CLAIMED: ":large_blue_circle:",
    TicketState.RESOLVED: ":white_check_mark:",
}
# The card's buttons, for the actions the core's card allows in the ticket's state; reopen
# lives in the web console.
BUTTONS = {
    CardAction.CLAIM: ("Claim", CLAIM, "primary"),
    CardAction.REPLY: ("Reply to reporter", REPLY, None),
    CardAction.REASSIGN: ("Reassign", REASSIGN, None),
    CardAction.UNASSIGN: ("Unassign", UNASSIGN, None),
    CardAction.RESOLVE: ("Resolve", RESOLVE, None),
}
MAX_FIELD_CHARS = 600


def reporter_label(card: TicketCard) -> str:
    reporter = card.reporter
    if reporter.platform == "slack":
        return f"<@{reporter.user_id}>"
    name = escape(reporter.display_name) if reporter.display_name else "someone"
    return f"{name} on {escape(reporter.platform)}"


def local_time(moment: datetime, zone: tzinfo | None) -> str:
    """A moment in the organisation's time zone (``POLICYBOT_TIMEZONE``), zone named."""
    local = moment.astimezone(zone) if zone is not None else moment
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or 'UTC'}"


def ticket_blocks(ticket: Ticket, *, zone: tzinfo | None = None) -> list[Block]:
    """The card: reference, kind, state, severity, who reported, the details, the buttons.
    Times are shown in ``zone`` (the organisation's), UTC when none is given."""
    card = ticket_card(ticket)
    header = (
        f"*{card.reference}* · {card.kind_title} · severity {card.severity} · "
        f"{STATE_ICONS[card.state]} {card.state_label}"
    )
    blocks: list[Block] = [
        section(header, block_id="ticket_header"),
        section(escape(truncate(card.body, 2900)), block_id="ticket_body"),
    ]
    lines = [
        f"*{escape(f.label)}:* {escape(truncate(f.value, MAX_FIELD_CHARS))}" for f in card.fields
    ]
    if lines:
        blocks.append(section(truncate("\n".join(lines), 2900), block_id="ticket_details"))
    status = [f"Reported by {reporter_label(card)}"]
    if card.claim_by:
        due = local_time(card.claim_by, zone)
        status.append(f"{':warning: overdue, ' if card.overdue else ''}claim by {due}")
    if card.assignee:
        status.append(f"claimed by {escape(card.assignee)}")
    blocks.append(context(" · ".join(status), block_id="ticket_status"))
    if card.stale_answer:
        blocks.append(
            context(
                f":warning: The answer went stale: {escape(card.stale_answer)}",
                block_id="ticket_stale",
            )
        )
    if card.resolution:
        resolution = escape(truncate(card.resolution, 2800))
        blocks.append(section(f"*Resolution:* {resolution}", block_id="ticket_resolution"))
    buttons = [
        button(label, action_id, card.reference, style=style)
        for action in card.actions
        if action in BUTTONS
        for label, action_id, style in [BUTTONS[action]]
    ]
    if buttons:
        blocks.append({"type": "actions", "block_id": "ticket_actions", "elements": buttons})
    return blocks


def ticket_text(ticket: Ticket) -> str:
    """The card's top-level text (notifications, screen readers); the title is the
    employee's words, escaped so ``<!channel>`` or ``<https://x|Re-login>`` stay text."""
    return truncate(
        f"{ticket.reference} ({ticket.kind.heading}, {ticket.state.value}): {escape(ticket.title)}",
        300,
    )
