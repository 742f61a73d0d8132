"""The answer engine: retrieve, decide answered or not_found on a calibrated score, compose."""

from __future__ import annotations

import logging
import time

from bot.answering.compose import Composer, ExtractiveComposer
from bot.answering.reply_language import NOT_FOUND_TEXT_ZH, source_note
from bot.errors import ComposerError
from bot.models import Answer, Citation, Status
from knowledge.calibration import DecisionRule
from knowledge.crosslingual import CHINESE, detect_language
from knowledge.index import Hit, KnowledgeIndex

log = logging.getLogger(__name__)

NOT_FOUND_TEXT = (
    "I couldn't find this in our GenAI policy or the PCPD guidance I work from, so I won't "
    "guess. I can pass your question to the support team."
)
# A section is cited beside the best one only if it scores nearly as well.
CITATION_MARGIN = 0.08


class Answerer:
    """Answers one (already redacted) question from the index; safe to call from threads."""

    def __init__(
        self,
        index: KnowledgeIndex,
        *,
        threshold: float | None = None,
        max_citations: int = 3,
        composer: Composer | None = None,
    ) -> None:
        self.index = index
        self.threshold = threshold
        self.max_citations = max_citations
        self.extractive = ExtractiveComposer()
        self.composer = composer or self.extractive

    def decision_rule(self, language: str = "en") -> DecisionRule | None:
        """The not-found rule in force: the explicit threshold setting if one is given, else
        the rule calibrated on the index for the question's language (None: empty index)."""
        if self.threshold is not None:
            return DecisionRule(language=language, threshold=self.threshold, origin="setting")
        return self.index.decision_rule(language)

    def rule_in_force(self, language: str = "en") -> dict[str, object] | None:
        """The rule as plain data, as ``policybot eval`` and the admin page show it."""
        rule = self.decision_rule(language)
        return rule.as_json() if rule else None

    def answer(self, question: str) -> Answer:
        started = time.perf_counter()
        language = detect_language(question)
        hits = self.index.search(question, limit=max(5, self.max_citations))
        rule = self.decision_rule(language) if hits else None
        if not hits or rule is None or not rule.answers(hits[0].score):
            return Answer(
                question=question,
                status=Status.NOT_FOUND,
                text=NOT_FOUND_TEXT_ZH if language == CHINESE else NOT_FOUND_TEXT,
                citations=(),
                latency_ms=(time.perf_counter() - started) * 1000,
                suggestions=tuple(_topic(hit) for hit in hits[:2]),
                language=language,
            )
        floor = max(rule.threshold, hits[0].score - CITATION_MARGIN)
        passages = [hit for hit in hits if hit.score >= floor][: self.max_citations]
        try:
            composition = self.composer.compose(question, passages)
        except ComposerError as exc:
            log.warning("composer %s rejected, using extractive: %s", self.composer.name, exc)
            composition = self.extractive.compose(question, passages)
        citations = tuple(
            Citation(
                n=n,
                document=hit.chunk.document,
                section=hit.chunk.section,
                version=hit.chunk.version,
                source=hit.chunk.source,
                text=hit.chunk.text,
                score=hit.score,
                location=hit.chunk.location,
            )
            for n, hit in enumerate(passages, start=1)
        )
        note = source_note(language, [hit.chunk.section for hit in passages])
        return Answer(
            question=question,
            status=Status.ANSWERED,
            text=f"{note}\n\n{composition.text}" if note else composition.text,
            citations=citations,
            latency_ms=(time.perf_counter() - started) * 1000,
            composer=composition.composer,
            language=language,
        )


def _topic(hit: Hit) -> str:
    return (
        f"{hit.chunk.document} › {hit.chunk.section}" if hit.chunk.section else hit.chunk.document
    )
