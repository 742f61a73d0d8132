"""A ticket as every support surface shows it: the card view model.

Slack's Block Kit card, the Teams Adaptive Card and the web console's ticket page render a
:class:`TicketCard` and decide nothing: the title, the labelled fields, the state and the
actions that state allows are all settled here, so a rule such as "a resolved ticket can
only be reopened" is written once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.handoff.incident_form import INCIDENT_FORM
from bot.handoff.ports import Reporter
from bot.handoff.tickets import Ticket, TicketKind, TicketState


class CardAction(StrEnum):
    """What staff can do to a ticket from its card."""

    CLAIM = "claim"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    REPLY = "reply"
    REASSIGN = "reassign"
    UNASSIGN = "unassign"


ACTIONS_BY_STATE: dict[TicketState, tuple[CardAction, ...]] = {
    TicketState.OPEN: (CardAction.CLAIM, CardAction.REPLY, CardAction.REASSIGN, CardAction.RESOLVE),
    TicketState.CLAIMED: (
        CardAction.REPLY,
        CardAction.REASSIGN,
        CardAction.UNASSIGN,
        CardAction.RESOLVE,
    ),
    TicketState.RESOLVED: (CardAction.REOPEN,),
}
# What staff read after an action, in words ("Ticket claimed", not "Done: claim.").
CONFIRMATIONS = {
    "claim": "Ticket claimed: it is yours now.",
    "comment": "Comment added (the reporter doesn't see it).",
    "severity": "Severity changed.",
    "resolve": "Ticket resolved; the reporter has been told, with your note.",
    "reopen": "Ticket reopened.",
    "reply": "Reply sent to the reporter.",
    "reassign": "Ticket reassigned.",
    "unassign": "Ticket unassigned: it is back in the queue.",
}
STATE_LABELS = {
    TicketState.OPEN: "Open",
    TicketState.CLAIMED: "Claimed",
    TicketState.RESOLVED: "Resolved",
}
# The details an escalation or a rating carries, in the order a card lists them.
OTHER_FIELDS = (
    ("question", "Question"),
    ("answer", "The bot's answer"),
    ("comment", "Comment"),
    ("note", "Note"),
)
# Details that are already the ticket's body for some kinds (a feedback ticket's comment,
# general feedback's text): the card lists them once, as the body.
BODY_FIELDS = ("comment", "text")
# An incident's "what happened" is the ticket's body, so its card does not repeat it.
CARD_FIELDS = (
    tuple((f.name, f.label) for f in INCIDENT_FORM if f.name != "what_happened") + OTHER_FIELDS
)


@dataclass(frozen=True)
class CardField:
    name: str
    label: str
    value: str


@dataclass(frozen=True)
class TicketCard:
    """What a support card shows, in display words; platforms only choose the markup.

    ``claim_by`` is set only while the ticket waits for someone to claim it, and
    ``resolution`` only while it is resolved.
    """

    reference: str
    kind: TicketKind
    kind_title: str
    state: TicketState
    state_label: str
    severity: str
    summary: str
    body: str
    fields: tuple[CardField, ...]
    reporter: Reporter
    assignee: str | None
    created_at: datetime
    claim_by: datetime | None
    overdue: bool
    resolution: str | None
    actions: tuple[CardAction, ...]
    # The ticket's answer cited a section changed since (what changed); None otherwise.
    stale_answer: str | None = None

    @property
    def reporter_name(self) -> str:
        return self.reporter.display_name or self.reporter.user_id

    def allows(self, action: CardAction) -> bool:
        return action in self.actions


def sla_text(claim_by: datetime | None, now: datetime) -> str:
    """The acknowledgement timer in words: "due in 1 h 20 min" or "overdue by 35 min"."""
    if claim_by is None:
        return ""
    remaining = (claim_by - now).total_seconds()
    minutes = int(abs(remaining)) // 60
    span = f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"
    # The sign of the exact remainder, not of its truncation: half a second late is overdue.
    return f"due in {span}" if remaining >= 0 else f"overdue by {span}"


def ticket_card(ticket: Ticket) -> TicketCard:
    """The card of ``ticket`` in its current state."""
    body = ticket.body or ticket.title
    fields = tuple(
        CardField(name, label, str(value).strip())
        for name, label in CARD_FIELDS
        if isinstance(value := ticket.details.get(name), str)
        and value.strip()
        and not (name in BODY_FIELDS and value.strip() == body.strip())
    )
    waiting = ticket.state is TicketState.OPEN
    return TicketCard(
        reference=ticket.reference,
        kind=ticket.kind,
        kind_title=ticket.kind.heading,
        state=ticket.state,
        state_label=STATE_LABELS[ticket.state],
        severity=ticket.severity.value,
        summary=ticket.title,
        body=body,
        fields=fields,
        reporter=ticket.reporter,
        assignee=ticket.assignee,
        created_at=ticket.created_at,
        claim_by=ticket.ack_due_at if waiting else None,
        overdue=ticket.overdue and waiting,
        resolution=ticket.resolution if ticket.state is TicketState.RESOLVED else None,
        actions=ACTIONS_BY_STATE[ticket.state],
        stale_answer=ticket.stale_answer if ticket.state is not TicketState.RESOLVED else None,
    )
