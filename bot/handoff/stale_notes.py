"""Notes to the employees whose answer went stale, sent on the platform they asked on, only
when an admin asks (``policybot changes --stale --notify`` or the console's button).

Privacy first. An answer keeps a way back to its asker (``AnswerRow.reply_to``) only when it
cited something (only those can go stale), and only what a reply needs: on Slack the channel
and thread the answer was posted in (for a slash command, the app's DM channel, else
nothing: an ephemeral answer in a shared channel is never followed up in public); on Teams
the conversation reference without the user (a proactive send needs the service URL, the
conversation and the bot; ``continue_conversation`` builds its activity from those). No user
id, no name. Answers given in the web console or the CLI keep nothing and are listed as
"cannot be notified". The address goes with the answer row at retention or erasure, and so
does the note (``bot.privacy.retention``).

The note: the stored (redacted) question answered again from the index in force, headed
"The policy section your earlier answer relied on (…) changed on …. Updated answer:", with
its citations, rendered by the platform's usual answer renderer. It is composed when the
admin asks and recorded (who, when, the text) in ``stale_notes``, one row per answer, so an
asker hears about an answer once; the outbox relay delivers it (retried with backoff), a
failure is kept with its error, and asking again for that answer re-queues it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.answering.stale import StaleAnswer
from bot.errors import PolicyBotError
from bot.models import Answer, Citation, Reply, Status
from bot.replies import cited_only
from bot.store import Store
from bot.store.leases import take_lease
from bot.store.schema import AnswerRow, StaleNoteRow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
PLACES = {"web": "the console", "cli": "the command line"}

QUEUED, REQUEUED, ALREADY_SENT, WAITING, UNREACHABLE = (
    "queued",
    "requeued",
    "already sent",
    "waiting",
    "cannot be notified",
)


class NotStale(PolicyBotError):
    """An answer id given to notify is not among the stale answers."""


@dataclass(frozen=True)
class NoteState:
    """What became of the note about one answer."""

    requested_by: str
    requested_at: datetime
    sent_at: datetime | None
    attempts: int
    last_error: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "requested_by": self.requested_by,
            "requested_at": self.requested_at.isoformat(timespec="seconds"),
            "sent": self.sent_at.isoformat(timespec="seconds") if self.sent_at else None,
            "attempts": self.attempts,
            "last_error": self.last_error,
        }


@dataclass(frozen=True)
class NoteOutcome:
    """One answer's result of a notify request: ``state`` is one of the module's states."""

    answer_id: str
    platform: str
    state: str
    detail: str

    def as_json(self) -> dict[str, Any]:
        return {
            "answer_id": self.answer_id,
            "platform": self.platform,
            "state": self.state,
            "detail": self.detail,
        }


def unreachable_reason(platform: str) -> str:
    """Why an asker cannot be sent a note: asked where there is no way back (the console,
    the CLI), or no way back was kept (a slash command's private answer in a shared Slack
    channel, an answer given before addresses were kept)."""
    if platform in PLACES:
        return f"cannot be notified (asked in {PLACES[platform]})"
    return "cannot be notified (no way back to the asker was kept)"


def note_status(item: StaleAnswer, state: NoteState | None) -> str:
    """Where the note about ``item`` stands, in words (the CLI and the console)."""
    if not item.reachable:
        return unreachable_reason(item.platform)
    if state is None:
        return "can be notified"
    if state.sent_at is not None:
        return f"notified on {state.sent_at:%Y-%m-%d %H:%M} (asked by {state.requested_by})"
    failed = f"; last attempt failed: {state.last_error}" if state.last_error else ""
    return f"note requested by {state.requested_by}, not sent yet{failed}"


def note_text(stale: StaleAnswer, answer_text: str, zone: tzinfo = UTC) -> str:
    """The note's heading followed by the updated answer (its ``[n]`` markers unchanged)."""
    label = stale.section or stale.document
    day = stale.changed_at.astimezone(zone).date().isoformat()
    verb = "was removed" if stale.change == "removed" else "changed"
    return (
        f"The policy section your earlier answer relied on ({label}) {verb} on {day}. "
        f"Updated answer:\n\n{answer_text}"
    )


def compose_note(stale: StaleAnswer, answer: Answer, zone: tzinfo = UTC) -> dict[str, Any]:
    """The note as stored and sent: text, the citations its markers use, the AI label."""
    answered = answer.status is Status.ANSWERED
    return {
        "text": note_text(stale, answer.text, zone),
        "status": answer.status.value,
        "ai_generated": answered,
        "language": answer.language,
        "citations": [
            c.as_json() for c in (cited_only(answer.text, answer.citations) if answered else ())
        ],
    }


def note_reply(note: dict[str, Any]) -> Reply:
    """A stored note as the reply each platform's answer renderer draws (no buttons: the
    note is not itself an answer one can rate or escalate)."""
    citations = tuple(
        Citation(
            n=int(c["n"]),
            document=str(c["document"]),
            section=str(c["section"]),
            version=c.get("version"),
            source=str(c.get("source") or ""),
            text=str(c.get("text") or ""),
            score=float(c.get("score") or 0.0),
        )
        for c in note.get("citations") or []
    )
    return Reply(
        text=str(note["text"]),
        citations=citations,
        ai_generated=bool(note.get("ai_generated")),
        status=Status(note.get("status") or Status.ANSWERED.value),
        language=str(note.get("language") or "en"),
    )


def note_states(store: Store, answer_ids: Iterable[str]) -> dict[str, NoteState]:
    """The note recorded for each of ``answer_ids`` that has one."""
    ids = list(answer_ids)
    if not ids:
        return {}
    with store.transaction() as session:
        rows = session.scalars(sa.select(StaleNoteRow).where(StaleNoteRow.answer_id.in_(ids)))
        return {
            row.answer_id: NoteState(
                requested_by=row.requested_by,
                requested_at=row.requested_at,
                sent_at=row.sent_at,
                attempts=row.attempts,
                last_error=row.last_error,
            )
            for row in rows
        }


def notify(
    store: Store,
    stale: Sequence[StaleAnswer],
    answer: Callable[[str], Answer],
    *,
    by: str,
    answer_ids: Sequence[str] = (),
    zone: tzinfo = UTC,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[NoteOutcome]:
    """Queue a note for each stale answer (or those of ``answer_ids``) whose asker can be
    reached; ``answer`` answers a question from the index in force. Returns what happened
    to each: queued, re-queued (a note not sent yet, e.g. after a failure), already sent,
    or cannot be notified. Raises :class:`NotStale` for an id that is not a stale answer.
    """
    chosen = list(stale)
    if answer_ids:
        by_id = {item.answer_id: item for item in stale}
        unknown = [answer_id for answer_id in answer_ids if answer_id not in by_id]
        if unknown:
            raise NotStale(
                f"not a stale answer: {', '.join(unknown)} (policybot changes --stale lists "
                "them with their ids)"
            )
        chosen = [by_id[answer_id] for answer_id in dict.fromkeys(answer_ids)]
    states = note_states(store, [item.answer_id for item in chosen])
    outcomes: list[NoteOutcome] = []
    for item in chosen:
        state = states.get(item.answer_id)
        if not item.reachable:
            outcome = (UNREACHABLE, unreachable_reason(item.platform))
        elif state is not None and state.sent_at is not None:
            outcome = (
                ALREADY_SENT,
                f"already notified on {state.sent_at:%Y-%m-%d} (asked by {state.requested_by})",
            )
        elif state is not None:
            outcome = _requeue(store, item.answer_id, by, state, clock())
        else:
            note = compose_note(item, answer(item.question), zone)
            outcome = _record(store, item, note, by, clock())
        outcomes.append(NoteOutcome(item.answer_id, item.platform, *outcome))
    return outcomes


def _record(
    store: Store, item: StaleAnswer, note: dict[str, Any], by: str, now: datetime
) -> tuple[str, str]:
    try:
        with store.transaction() as session:
            session.add(
                StaleNoteRow(
                    answer_id=item.answer_id,
                    platform=item.platform,
                    requested_by=by[:255],
                    requested_at=now,
                    note=note,
                    attempts=0,
                    due_at=now,
                )
            )
    except IntegrityError:  # another admin asked for the same answer a moment ago
        return WAITING, "a note was requested a moment ago"
    log.info("stale-answer note %s queued by %s", item.answer_id, by)
    return QUEUED, f"note queued for {item.platform}"


def _requeue(
    store: Store, answer_id: str, by: str, state: NoteState, now: datetime
) -> tuple[str, str]:
    with store.transaction() as session:
        session.execute(
            sa.update(StaleNoteRow)
            .where(StaleNoteRow.answer_id == answer_id, StaleNoteRow.sent_at.is_(None))
            .values(due_at=now, attempts=0)
        )
    log.info("stale-answer note %s re-queued by %s", answer_id, by)
    why = f" (last attempt failed: {state.last_error})" if state.last_error else ""
    return REQUEUED, f"not sent yet; queued again{why}"


# -- delivery (the outbox relay's part) ---------------------------------------------------


@dataclass(frozen=True)
class DueNote:
    id: int
    answer_id: str
    platform: str
    address: str | None
    reply: Reply
    attempts: int


def pending_note_count(store: Store) -> int:
    """Notes not sent yet, the given-up ones included (``policybot db status``)."""
    with store.transaction() as session:
        return session.scalar(sa.select(sa.func.count()).where(StaleNoteRow.sent_at.is_(None))) or 0


def given_up_note_count(store: Store) -> int:
    """Notes that failed every attempt: sent again only when an admin asks for them again."""
    with store.transaction() as session:
        return (
            session.scalar(
                sa.select(sa.func.count()).where(
                    StaleNoteRow.sent_at.is_(None), StaleNoteRow.attempts >= MAX_ATTEMPTS
                )
            )
            or 0
        )


def take_due(store: Store, platforms: Iterable[str], now: datetime, limit: int) -> list[DueNote]:
    """Lease up to ``limit`` unsent notes for ``platforms`` (a conditional UPDATE each, so
    several processes never send the same note at once)."""
    platforms = list(platforms)
    if not platforms:
        return []
    with store.transaction() as session:
        ids = session.scalars(
            sa.select(StaleNoteRow.id)
            .where(
                StaleNoteRow.sent_at.is_(None),
                StaleNoteRow.due_at <= now,
                StaleNoteRow.attempts < MAX_ATTEMPTS,
                StaleNoteRow.platform.in_(platforms),
            )
            .order_by(StaleNoteRow.id)
            .limit(limit)
        ).all()
    taken: list[DueNote] = []
    for row_id in ids:
        with store.transaction() as session:
            row = take_lease(session, StaleNoteRow, row_id, finished=StaleNoteRow.sent_at, now=now)
            if row is None:
                continue  # another process took it
            address = session.scalar(
                sa.select(AnswerRow.reply_to).where(AnswerRow.id == row.answer_id)
            )
            taken.append(
                DueNote(
                    row.id, row.answer_id, row.platform, address, note_reply(row.note), row.attempts
                )
            )
    return taken


def tried(
    store: Store, note: DueNote, now: datetime, *, error: str | None, retry_after: timedelta
) -> None:
    """Record a delivery attempt: sent, or the error and when to try again."""
    if error is None:
        values: dict[str, object] = {"sent_at": now, "last_error": None}
    else:
        values = {"last_error": error[:1000], "due_at": now + retry_after}
    with store.transaction() as session:
        session.execute(sa.update(StaleNoteRow).where(StaleNoteRow.id == note.id).values(**values))
