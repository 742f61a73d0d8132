"""Fakes registered like the real things: a clock, a notifier, an answer engine.

The fake engine answers from a small table of keyword rules, so hand-off tests need no model
and no index; it has the one attribute the Assistant uses (``answerer``), plus ``settings``
and ``embedder`` like :class:`bot.answering.engine.Engine`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.handoff.ports import Notifier, Reporter
from bot.models import Answer, Citation, Reply, Status
from bot.settings import Settings


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class RecordingNotifier(Notifier):
    """Records what the core asks it to deliver; ``fail`` makes every call raise."""

    platform: str = "slack"
    fail: bool = False
    to_reporters: list[tuple[Reporter, str]] = field(default_factory=list)
    posts: list[tuple[str, str, str]] = field(default_factory=list)
    notes: list[tuple[str, Reply]] = field(default_factory=list)

    async def notify_reporter(self, reporter: Reporter, text: str) -> None:
        if self.fail:
            raise ConnectionError("platform unreachable")
        self.to_reporters.append((reporter, text))

    async def post_ticket(self, ticket: object, *, event: str) -> None:
        if self.fail:
            raise ConnectionError("platform unreachable")
        self.posts.append((ticket.reference, event, ticket.state.value))  # type: ignore[attr-defined]

    async def send_note(self, address: str, reply: Reply) -> None:
        if self.fail:
            raise ConnectionError("platform unreachable")
        self.notes.append((address, reply))


def citation(n: int, section: str, text: str = "Policy text.") -> Citation:
    return Citation(
        n=n,
        document="Harbourview GenAI Policy",
        section=section,
        version="2.0",
        source="example-genai-policy.md",
        text=text,
        score=0.8,
    )


INCIDENT_SECTIONS = (
    citation(1, "11. AI incidents › 11.2 How and when to report an incident"),
    citation(2, "11. AI incidents › 11.3 What to do straight after an incident"),
)


class FakeAnswerer:
    """Answers "ChatGPT" questions, incident-procedure questions, and nothing else."""

    def __init__(self) -> None:
        self.questions: list[str] = []

    def answer(self, question: str) -> Answer:
        self.questions.append(question)
        lowered = question.lower()
        if "incident" in lowered:
            return Answer(
                question=question,
                status=Status.ANSWERED,
                text="Report it within two hours [1]. Do not delete the conversation [2].",
                citations=INCIDENT_SECTIONS,
                latency_ms=1.0,
            )
        if "chatgpt" in lowered:
            return Answer(
                question=question,
                status=Status.ANSWERED,
                text="Only ChatGPT Enterprise is approved [1].",
                citations=(citation(1, "3. Approved tools › 3.1 The register"),),
                latency_ms=1.0,
            )
        return Answer(
            question=question,
            status=Status.NOT_FOUND,
            text="I couldn't find this in our GenAI policy.",
            citations=(),
            latency_ms=1.0,
        )


@dataclass
class FakeEngine:
    settings: Settings
    answerer: FakeAnswerer = field(default_factory=FakeAnswerer)
    embedder: None = None
