"""Data access and erasure requests (PDPO DPP6): everything held about one employee.

An employee is known to the store by platform and user id, as the reporter of tickets, the
author of ratings and the owner of unfinished incident drafts. Answers are stored without
identity (``AnswerRow.asker_key`` is a one-way hash that also needs the conversation), so
only the answers those tickets and ratings refer to can be found; the rest expire with the
conversation retention period.

:func:`erase` removes all of it and leaves one :class:`bot.store.schema.ErasureRow`: when,
the platform if one was given, the counts, and a salted hash of the user id (so a later
request can be matched to it without keeping the id).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.handoff.records import ticket_trail
from bot.privacy.retention import delete_tickets, deleted_count
from bot.store import Store
from bot.store.schema import (
    AnswerRow,
    ConversationRow,
    ErasureRow,
    PrivacySecretRow,
    QuestionLogRow,
    RatingRow,
    StaleNoteRow,
    TicketRow,
)

SALT_NAME = "erasure_salt"


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _user_filter(column: Any, platform_column: Any, user_id: str, platform: str | None) -> Any:
    if platform is None:
        return column == user_id
    return sa.and_(column == user_id, platform_column == platform)


def subject_hash(store: Store, user_id: str) -> str:
    """The salted SHA-256 of ``user_id`` kept in the erasure audit (salt made on first use)."""
    table = PrivacySecretRow.__table__
    with store.transaction() as session:
        session.execute(
            store.insert(table)
            .values(name=SALT_NAME, value=secrets.token_hex(32))
            .on_conflict_do_nothing(index_elements=["name"])
        )
        salt = session.scalar(sa.select(PrivacySecretRow.value).where(table.c.name == SALT_NAME))
    return hashlib.sha256(f"{salt}\x1f{user_id}".encode()).hexdigest()


def export(store: Store, user_id: str, *, platform: str | None = None) -> dict[str, Any]:
    """Everything held about ``user_id`` (on ``platform``, or on any), as JSON-ready data.

    ``found`` is False, and every list empty, for a user the store knows nothing about.
    """
    with store.transaction() as session:
        tickets = session.scalars(
            sa.select(TicketRow)
            .where(
                _user_filter(
                    TicketRow.reporter_user_id, TicketRow.reporter_platform, user_id, platform
                )
            )
            .order_by(TicketRow.id)
        ).all()
        ratings = session.scalars(
            sa.select(RatingRow)
            .where(_user_filter(RatingRow.user_id, RatingRow.platform, user_id, platform))
            .order_by(RatingRow.id)
        ).all()
        drafts = session.scalars(
            sa.select(ConversationRow).where(
                _user_filter(ConversationRow.user_id, ConversationRow.platform, user_id, platform)
            )
        ).all()
        answer_ids = _answer_ids(tickets, ratings)
        answers = session.scalars(
            sa.select(AnswerRow).where(AnswerRow.id.in_(answer_ids)).order_by(AnswerRow.created_at)
        ).all()
        data = {
            "user_id": user_id,
            "platform": platform,
            "found": bool(tickets or ratings or drafts),
            "tickets": [_ticket(session, row) for row in tickets],
            "ratings": [_rating(row) for row in ratings],
            "incident_drafts": [
                {
                    "platform": row.platform,
                    "flow": row.flow,
                    "values": row.data.get("values", {}),
                    "updated_at": _iso(row.updated_at),
                    "expires_at": _iso(row.expires_at),
                }
                for row in drafts
            ],
            "answers": [
                {
                    "id": row.id,
                    "created_at": _iso(row.created_at),
                    "platform": row.platform,
                    "question": row.question,
                    "answer": row.answer,
                    "status": row.status,
                    "citations": row.citations,
                }
                for row in answers
            ],
        }
    data["note"] = (
        "Other answers the bot gave are stored without identity (a one-way hash of platform, "
        "conversation and user) and are deleted after the conversation retention period."
    )
    return data


def erase(
    store: Store,
    user_id: str,
    *,
    platform: str | None = None,
    clock: Callable[[], datetime] = _now,
) -> dict[str, int]:
    """Delete everything :func:`export` would show; return counts per kind.

    When something was removed, one audit row records that an erasure happened; for a user
    the store does not know, nothing is written and every count is 0.
    """
    digest = subject_hash(store, user_id)
    with store.transaction() as session:
        tickets = session.execute(
            sa.select(TicketRow.id, TicketRow.answer_id).where(
                _user_filter(
                    TicketRow.reporter_user_id, TicketRow.reporter_platform, user_id, platform
                )
            )
        ).all()
        rating_answers = session.scalars(
            sa.select(RatingRow.answer_id).where(
                _user_filter(RatingRow.user_id, RatingRow.platform, user_id, platform)
            )
        ).all()
        answer_ids = {a for _, a in tickets if a} | {a for a in rating_answers if a}
        counts = delete_tickets(session, [ticket_id for ticket_id, _ in tickets])
        counts["ratings"] += deleted_count(
            session,
            sa.delete(RatingRow).where(
                _user_filter(RatingRow.user_id, RatingRow.platform, user_id, platform)
            ),
        )
        counts["incident_drafts"] = deleted_count(
            session,
            sa.delete(ConversationRow).where(
                _user_filter(ConversationRow.user_id, ConversationRow.platform, user_id, platform)
            ),
        )
        counts["question_log"] = deleted_count(
            session, sa.delete(QuestionLogRow).where(QuestionLogRow.answer_id.in_(answer_ids))
        )
        counts["stale_notes"] = deleted_count(
            session, sa.delete(StaleNoteRow).where(StaleNoteRow.answer_id.in_(answer_ids))
        )
        counts["answers"] = deleted_count(
            session, sa.delete(AnswerRow).where(AnswerRow.id.in_(answer_ids))
        )
        if any(counts.values()):
            session.add(
                ErasureRow(at=clock(), subject_hash=digest, platform=platform, removed=counts)
            )
    return counts


def erasures_of(store: Store, user_id: str) -> list[dict[str, Any]]:
    """The audit rows of earlier erasures for ``user_id`` (matched by salted hash)."""
    digest = subject_hash(store, user_id)
    with store.transaction() as session:
        rows = session.scalars(
            sa.select(ErasureRow).where(ErasureRow.subject_hash == digest).order_by(ErasureRow.at)
        ).all()
        return [{"at": _iso(r.at), "platform": r.platform, "removed": r.removed} for r in rows]


def _answer_ids(tickets: Any, ratings: Any) -> set[str]:
    ids = {row.answer_id for row in tickets if row.answer_id}
    return ids | {row.answer_id for row in ratings if row.answer_id}


def _ticket(session: Session, row: TicketRow) -> dict[str, Any]:
    events, comments = ticket_trail(session, row)
    return {
        "reference": row.reference,
        "kind": row.kind,
        "state": row.state,
        "severity": row.severity,
        "title": row.title,
        "body": row.body,
        "details": row.details,
        "platform": row.reporter_platform,
        "display_name": row.reporter_name,
        "assignee": row.assignee,
        "created_at": _iso(row.created_at),
        "resolved_at": _iso(row.resolved_at),
        "resolution": row.resolution,
        "events": [
            {
                "at": _iso(e.at),
                "actor": e.actor,
                "action": e.action,
                "from_state": e.from_state,
                "to_state": e.to_state,
                "detail": e.detail,
            }
            for e in events
        ],
        "comments": [{"at": _iso(c.at), "author": c.author, "text": c.text} for c in comments],
    }


def _rating(row: RatingRow) -> dict[str, Any]:
    return {
        "created_at": _iso(row.created_at),
        "platform": row.platform,
        "helpful": row.helpful,
        "comment": row.comment,
        "question": row.question,
        "answer": row.answer,
        "answer_id": row.answer_id,
    }
