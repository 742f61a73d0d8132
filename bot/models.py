"""Plain data crossing the boundary between the core and the adapters.

The core never sees a Slack payload or a Teams Activity: adapters build a :class:`Message`
and render a :class:`Reply`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Status(StrEnum):
    ANSWERED = "answered"
    NOT_FOUND = "not_found"


class Action(StrEnum):
    """What a reply offers the employee; each adapter renders these as buttons or commands."""

    FEEDBACK = "feedback"
    REPORT_INCIDENT = "report_incident"
    ASK_PERSON = "ask_person"
    # Steps of the incident conversation: each is a button that says its command for the
    # person (see ``COMMANDS``), so a click and a typed word take the same path.
    CANCEL_REPORT = "cancel_report"
    SEND_REPORT = "send_report"
    EDIT_REPORT = "edit_report"
    CONTINUE_REPORT = "continue_report"
    DISCARD_REPORT = "discard_report"


# What a step button shows, and the message it sends on the person's behalf.
COMMANDS: dict[Action, tuple[str, str]] = {
    Action.SEND_REPORT: ("Send the report", "send"),
    Action.EDIT_REPORT: ("Edit an answer", "edit"),
    Action.CONTINUE_REPORT: ("Continue the report", "continue"),
    Action.DISCARD_REPORT: ("Discard it", "discard"),
    Action.CANCEL_REPORT: ("Cancel", "cancel"),
}


@dataclass(frozen=True)
class Citation:
    """One numbered source of an answer; ``n`` matches the ``[n]`` markers in the text."""

    n: int
    document: str
    section: str
    version: str | None
    source: str
    text: str
    score: float
    location: str | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "n": self.n,
            "document": self.document,
            "section": self.section,
            "version": self.version,
            "source": self.source,
            "text": self.text,
            "score": round(self.score, 4),
        }


@dataclass(frozen=True)
class Answer:
    """The engine's answer to one question."""

    question: str
    status: Status
    text: str
    citations: tuple[Citation, ...]
    latency_ms: float
    suggestions: tuple[str, ...] = ()
    composer: str = "extractive"
    # Types of the personal identifiers the privacy guard removed from the question.
    privacy: tuple[str, ...] = ()
    # The question's language, "en" or "zh" (see knowledge.crosslingual.detect_language).
    language: str = "en"

    def as_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "question": self.question,
            "status": self.status.value,
            "answer": self.text,
            "citations": [c.as_json() for c in self.citations],
            "latency_ms": round(self.latency_ms, 2),
        }
        if self.status is Status.NOT_FOUND:
            data["nearest_topics"] = list(self.suggestions)
            data["handoff"] = {"action": Action.ASK_PERSON.value}
        if self.privacy:
            data["privacy"] = [{"type": kind} for kind in self.privacy]
        if self.language != "en":
            # Only for questions in another language, so English output stays as it was.
            data["language"] = self.language
        return data


@dataclass(frozen=True)
class Message:
    """An employee's message as any adapter delivers it."""

    text: str
    user_id: str
    platform: str
    conversation_id: str
    message_id: str | None = None
    thread_id: str | None = None
    # Adapter-owned opaque text for reaching this person later (see ``bot.handoff.ports.Reporter``).
    conversation_ref: str | None = None
    display_name: str | None = None
    # Adapter-owned opaque text for where a later note about this message's answer can go
    # (the Slack channel and thread, a Teams conversation reference without the user); no
    # personal identifier. None where there is no way back (web console, CLI).
    reply_to: str | None = None


@dataclass(frozen=True)
class Reply:
    """One reply, rendered by each adapter: text with [n] markers plus structured parts."""

    text: str
    citations: tuple[Citation, ...] = ()
    ai_generated: bool = False
    actions: tuple[Action, ...] = ()
    status: Status | None = None
    notices: tuple[str, ...] = field(default=())
    # The stored answer this reply carries; pass it back with feedback or "ask a person".
    answer_id: str | None = None
    # The ticket this reply created or concerns, e.g. "INC-2026-0042".
    reference: str | None = None
    # Form submissions: field name -> what is wrong with it (empty when all is well).
    field_errors: dict[str, str] = field(default_factory=dict, hash=False)
    # Types of the personal identifiers removed from the message (e.g. ("HKID", "PHONE")).
    privacy: tuple[str, ...] = ()
    # Where an unfinished conversation stands, shown apart from the text on every platform,
    # e.g. "Reporting an AI incident · step 2 of 7" (None outside a conversation).
    progress: str | None = None
    # Suggested questions the person can send with one click (a greeting offers them).
    starters: tuple[str, ...] = ()
    # The language of the message answered ("en" or "zh"), for labels a renderer may translate.
    language: str = "en"
