"""Answers that went stale: answers already given (still within the retention period) that
cited a section an ingest has since changed or removed.

Support staff and admins see them with the question as it was stored (redacted), the text
the answer relied on and the section's new text, so they can tell who may act on old rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

import sqlalchemy as sa

from bot.store import Store
from bot.store.schema import AnswerRow, SectionChangeRow
from knowledge.changes import ADDED, in_force_at, word_diff

MAX_STALE = 200


@dataclass(frozen=True)
class StaleAnswer:
    answer_id: str
    asked_at: datetime
    platform: str
    question: str
    document: str
    section: str
    change: str
    old_text: str | None
    new_text: str | None
    old_version: str | None
    new_version: str | None
    changed_at: datetime
    # The asker can be sent a note (the answer kept a way back to them); False for answers
    # given in the web console or the CLI.
    reachable: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "answer_id": self.answer_id,
            "asked": self.asked_at.isoformat(timespec="seconds"),
            "platform": self.platform,
            "question": self.question,
            "document": self.document,
            "section": self.section,
            "change": self.change,
            "old_version": self.old_version,
            "new_version": self.new_version,
            "changed": self.changed_at.isoformat(timespec="seconds"),
            "old_text": self.old_text,
            "new_text": self.new_text,
            "diff": word_diff(self.old_text or "", self.new_text or ""),
            "reachable": self.reachable,
        }


def stale_answers(
    store: Store,
    *,
    limit: int = MAX_STALE,
    zone: tzinfo = UTC,
    now: datetime | None = None,
) -> list[StaleAnswer]:
    """Newest first: each answer with the first section it cited that changed after it.

    A change counts once it is in force (:func:`knowledge.changes.in_force_at`, effective
    dates read in ``zone``): an answer given before an announced change's date still
    matches the policy until that date, and one given after the date matches the new text.
    """
    now = now or datetime.now(UTC)
    with store.engine.connect() as connection:
        changes = [
            (row, in_force_at(row.recorded_at, row.effective, zone))
            for row in connection.execute(
                sa.select(SectionChangeRow.__table__)
                .where(SectionChangeRow.__table__.c["change"] != ADDED)
                .order_by(SectionChangeRow.__table__.c["recorded_at"])
            ).all()
        ]
        changes = [(row, since) for row, since in changes if since <= now]
        if not changes:
            return []
        by_section: dict[tuple[str, str], list[tuple[Any, datetime]]] = {}
        for row, since in changes:
            by_section.setdefault((row.title, row.section), []).append((row, since))
        answers = connection.execute(
            sa.select(AnswerRow.__table__)
            .where(
                AnswerRow.__table__.c["created_at"] < max(since for _, since in changes),
                AnswerRow.__table__.c["status"] == "answered",
            )
            .order_by(AnswerRow.__table__.c["created_at"].desc())
        ).all()
    stale: list[StaleAnswer] = []
    for answer in answers:
        for citation in answer.citations or []:
            key = (str(citation.get("document", "")), str(citation.get("section", "")))
            later = [
                (row, since) for row, since in by_section.get(key, []) if since > answer.created_at
            ]
            if not later:
                continue
            (first, _), (change, changed_at) = later[0], later[-1]
            stale.append(
                StaleAnswer(
                    answer_id=answer.id,
                    asked_at=answer.created_at,
                    platform=answer.platform,
                    question=answer.question,
                    document=change.title,
                    section=change.section,
                    change=change.change,
                    old_text=str(citation.get("text") or first.old_text or ""),
                    new_text=change.new_text,
                    old_version=first.old_version,
                    new_version=change.new_version,
                    changed_at=changed_at,
                    reachable=answer.reply_to is not None,
                )
            )
            break
        if len(stale) >= limit:
            break
    return stale
