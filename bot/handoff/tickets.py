"""Plain data crossing the hand-off service's boundary: what employees submit, what staff see.

Everything here is a frozen dataclass or an enum, free of SQLAlchemy and of any chat
platform, so adapters (Slack, Teams, web, CLI) build and render them directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.handoff.ports import Reporter
from bot.models import Citation


class TicketKind(StrEnum):
    INCIDENT = "incident"
    ESCALATION = "escalation"
    FEEDBACK = "feedback"

    @property
    def prefix(self) -> str:
        return {"incident": "INC", "escalation": "ESC", "feedback": "FB"}[self.value]

    @property
    def label(self) -> str:
        """How the employee's own list names it ("my tickets")."""
        return {"incident": "incident report", "escalation": "question", "feedback": "feedback"}[
            self.value
        ]

    @property
    def heading(self) -> str:
        """How a support card names it."""
        return {
            "incident": "AI incident",
            "escalation": "Question for a person",
            "feedback": "Feedback",
        }[self.value]


class TicketState(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    RESOLVED = "resolved"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


# ---- inputs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class IncidentReport:
    """What an AI incident response needs to start; free text, as the employee wrote it.

    ``what_happened`` is required; the rest may be "don't know", but the conversational
    flow asks for each. ``idempotency_key`` (e.g. the platform's message or event id) makes
    a retried submission return the first ticket instead of creating another.
    """

    reporter: Reporter
    what_happened: str
    tool: str = ""
    data_involved: str = ""
    happened_at: str = ""
    discovered_at: str = ""
    contained: str = ""
    contact: str = ""
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Rating:
    """Helpful / not helpful on an answer, found by ``answer_id`` or the platform's id of the
    message that carried it (``message_ref``); ``question`` is the fallback when neither is
    known (the answer is then recorded as unknown)."""

    reporter: Reporter
    helpful: bool
    comment: str = ""
    answer_id: str | None = None
    message_ref: str | None = None
    question: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class GeneralFeedback:
    """Feedback on the policy or the bot, not tied to an answer."""

    reporter: Reporter
    text: str
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Escalation:
    """A question passed to a person, with the bot's attempt at answering it.

    Give ``answer_id`` when the question was answered in a reply; otherwise give the
    ``question`` and, if known, ``answer`` and ``citations``.
    """

    reporter: Reporter
    question: str = ""
    answer_id: str | None = None
    answer: str = ""
    citations: tuple[Citation, ...] = ()
    note: str = ""
    idempotency_key: str | None = None


@dataclass(frozen=True)
class AnswerRecord:
    """An answer as it was given, stored so later feedback can refer to it."""

    platform: str
    asker_key: str
    question: str
    answer: str
    status: str
    citations: tuple[Citation, ...] = ()
    # Where a note can reach the asker if the answer goes stale (``Message.reply_to``).
    reply_to: str | None = None


@dataclass(frozen=True)
class TicketQuery:
    """Filters of the queue; ``cursor`` is the ``next_cursor`` of the previous page."""

    state: TicketState | None = None
    kind: TicketKind | None = None
    overdue: bool = False
    limit: int = 50
    cursor: str | None = None
    severity: Severity | None = None
    # A staff member's name; "" means tickets nobody has taken.
    assignee: str | None = None
    # Words looked for in the reference, the title and the body (case-insensitive).
    search: str = ""
    # newest (the default, paged by cursor), oldest, due (soonest acknowledgement first),
    # severity (most severe first).
    sort: str = "newest"


# ---- outputs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ticket:
    """A ticket as staff see it. ``overdue`` is computed when the ticket is read."""

    reference: str
    kind: TicketKind
    state: TicketState
    severity: Severity
    title: str
    body: str
    details: Mapping[str, Any]
    reporter: Reporter
    assignee: str | None
    created_at: datetime
    updated_at: datetime
    ack_due_at: datetime | None
    claimed_at: datetime | None
    resolved_at: datetime | None
    resolution: str | None
    overdue: bool
    # For an unresolved ticket whose answer cited a section changed or removed since:
    # what changed, e.g. "4.2 Personal data changed on 2026-11-29 (2.1 → 2.2)".
    stale_answer: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "kind": self.kind.value,
            "state": self.state.value,
            "severity": self.severity.value,
            "title": self.title,
            "body": self.body,
            "details": dict(self.details),
            "reporter": {
                "platform": self.reporter.platform,
                "user_id": self.reporter.user_id,
                "display_name": self.reporter.display_name,
            },
            "assignee": self.assignee,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "ack_due_at": _iso(self.ack_due_at),
            "claimed_at": _iso(self.claimed_at),
            "resolved_at": _iso(self.resolved_at),
            "resolution": self.resolution,
            "overdue": self.overdue,
        }


@dataclass(frozen=True)
class TicketEvent:
    """One line of the audit trail: who did what, when, from which state to which."""

    at: datetime
    actor: str
    action: str
    from_state: TicketState | None
    to_state: TicketState | None
    detail: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "at": _iso(self.at),
            "actor": self.actor,
            "action": self.action,
            "from": self.from_state.value if self.from_state else None,
            "to": self.to_state.value if self.to_state else None,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Comment:
    at: datetime
    author: str
    text: str

    def as_json(self) -> dict[str, Any]:
        return {"at": _iso(self.at), "author": self.author, "text": self.text}


@dataclass(frozen=True)
class TicketDetail:
    ticket: Ticket
    events: tuple[TicketEvent, ...]
    comments: tuple[Comment, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            **self.ticket.as_json(),
            "events": [e.as_json() for e in self.events],
            "comments": [c.as_json() for c in self.comments],
        }


@dataclass(frozen=True)
class TicketPage:
    tickets: tuple[Ticket, ...]
    total: int
    next_cursor: str | None


@dataclass(frozen=True)
class Submitted:
    """The ticket a submission created, or found again for a repeated idempotency key."""

    ticket: Ticket
    created: bool


@dataclass(frozen=True)
class RatingReceipt:
    """A recorded rating; ``ticket`` is the queue item a negative rating created."""

    helpful: bool
    ticket: Ticket | None
    created: bool


@dataclass(frozen=True)
class Gap:
    """A group of similar questions the knowledge base did not serve well."""

    question: str
    count: int
    not_found: int
    unhelpful: int
    examples: tuple[str, ...] = field(default=())
    last_seen: datetime | None = None

    def __str__(self) -> str:
        times = "once" if self.count == 1 else f"{self.count} times"
        return f"{self.question} (asked {times})"

    def as_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "count": self.count,
            "not_found": self.not_found,
            "unhelpful": self.unhelpful,
            "examples": list(self.examples),
            "last_seen": _iso(self.last_seen),
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
