"""Knowledge gaps a new policy version answers: a gap's question, asked again of today's
index, is answered from a section an ingest added or changed after the gap was last seen."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.handoff.tickets import Gap
from bot.models import Answer, Status
from knowledge.changes import REMOVED, SectionChange

MAX_GAPS_CHECKED = 20


class Answering(Protocol):
    def answer(self, question: str) -> Answer: ...


@dataclass(frozen=True)
class GapAnswered:
    document: str
    section: str
    version: str | None


def answered_gaps(
    gaps: Sequence[Gap], answerer: Answering, changes: Sequence[SectionChange]
) -> dict[str, GapAnswered]:
    """By gap question: the changed section that now answers it (first ``MAX_GAPS_CHECKED``
    gaps; a gap no recorded change answers is left out)."""
    added = [c for c in changes if c.change != REMOVED and c.recorded_at]
    if not added:
        return {}
    marked: dict[str, GapAnswered] = {}
    for gap in gaps[:MAX_GAPS_CHECKED]:
        seen = gap.last_seen.isoformat(timespec="seconds") if gap.last_seen else ""
        later = {(c.document, c.section): c for c in added if (c.recorded_at or "") >= seen[:19]}
        if not later:
            continue
        answer = answerer.answer(gap.question)
        if answer.status is not Status.ANSWERED:
            continue
        for citation in answer.citations:
            change = later.get((citation.document, citation.section))
            if change is not None:
                marked[gap.question] = GapAnswered(
                    change.document, change.section, change.new_version
                )
                break
    return marked
