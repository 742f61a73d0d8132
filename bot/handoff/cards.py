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


ACTIONS_BY_STATE: dict[TicketState, tuple[CardAction, ...]] = {
    TicketState.OPEN: (CardAction.CLAIM, CardAction.RESOLVE),
    TicketState.CLAIMED: (CardAction.RESOLVE,),
    TicketState.RESOLVED: (CardAction.REOPEN,),
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

    @property
    def reporter_name(self) -> str:
        return self.reporter.display_name or self.reporter.user_id

    def allows(self, action: CardAction) -> bool:
        return action in self.actions


def ticket_card(ticket: Ticket) -> TicketCard:
    """The card of ``ticket`` in its current state."""
    fields = tuple(
        CardField(name, label, str(value).strip())
        for name, label in CARD_FIELDS
        if isinstance(value := ticket.details.get(name), str) and value.strip()
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
        body=ticket.body or ticket.title,
        fields=fields,
        reporter=ticket.reporter,
        assignee=ticket.assignee,
        created_at=ticket.created_at,
        claim_by=ticket.ack_due_at if waiting else None,
        overdue=ticket.overdue and waiting,
        resolution=ticket.resolution if ticket.state is TicketState.RESOLVED else None,
        actions=ACTIONS_BY_STATE[ticket.state],
    )
