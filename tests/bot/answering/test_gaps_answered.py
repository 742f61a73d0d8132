"""A knowledge gap is marked answered when today's index answers its question from a section
an ingest changed after the gap was last seen, and only then."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.answering.engine import Engine
from bot.answering.gaps_answered import answered_gaps
from bot.handoff.tickets import Gap
from knowledge.changes import CHANGED, REMOVED, SectionChange

QUESTION = "can I paste a customer's HKID number into ChatGPT?"


def change_of(section: str, document: str, *, recorded: str, kind: str = CHANGED) -> SectionChange:
    return SectionChange(
        "example-genai-policy.md",
        document,
        section,
        kind,
        "old",
        "new",
        "2.1",
        "2.2",
        "2026-11-01",
        recorded,
    )


def test_a_gap_answered_by_a_later_change_is_marked(engine: Engine) -> None:
    answer = engine.answerer.answer(QUESTION)
    cited = answer.citations[0]
    gap = Gap(QUESTION, 3, 3, 0, (QUESTION,), datetime(2026, 10, 1, tzinfo=UTC))

    later = change_of(cited.section, cited.document, recorded="2026-10-20T10:00:00+00:00")
    marked = answered_gaps([gap], engine.answerer, [later])
    assert marked[QUESTION].section == cited.section and marked[QUESTION].version == "2.2"

    earlier = change_of(cited.section, cited.document, recorded="2026-09-20T10:00:00+00:00")
    assert answered_gaps([gap], engine.answerer, [earlier]) == {}, "the change came before"
    elsewhere = change_of("9. Something else", cited.document, recorded="2026-10-20T10:00:00+00:00")
    assert answered_gaps([gap], engine.answerer, [elsewhere]) == {}, "not the section cited"
    removal = change_of(
        cited.section, cited.document, recorded="2026-10-20T10:00:00+00:00", kind=REMOVED
    )
    assert answered_gaps([gap], engine.answerer, [removal]) == {}, "a removal answers nothing"
