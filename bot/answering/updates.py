"""Policy updates in answers: "what changed?" questions answered from the changes each ingest
recorded, and an ordinary answer told when a section it cites changed lately or is about to.

:class:`PolicyUpdates` wraps an answerer (it answers the same way otherwise). Changes are
read from the database's document store, so every process sees the same ones, and dates
are compared with today in the organisation's time zone on every answer: an upcoming
version's line turns into a "changed on" line on its effective date, in every process.
"""

from __future__ import annotations

import difflib
import re
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from typing import Protocol

from bot.models import Answer, Citation, Status
from bot.store.documents import DocumentStore
from knowledge.changes import ADDED, CHANGED, REMOVED, SectionChange
from knowledge.chunking import split_sentences

RECENT_DAYS = 30
# What a "what changed?" question looks back over when it names no date.
DEFAULT_LOOKBACK_DAYS = 90
MAX_LISTED = 8
QUOTE_CHARS = 160
# A changed sentence is quoted whole up to this length: it is the point of the answer, where
# a section's opening (the fallback) is only a reminder of which section it is.
SENTENCE_QUOTE_CHARS = 320

_POLICY = r"(?:the )?(?:[\w-]+ )?(?:policy|policies|rules|guidance|guidelines)"
_CHANGES_QUESTION = re.compile(
    r"\b(?:what(?:'s| is| has)? (?:changed|new)\b|anything new\b|"
    r"what changes (?:were|have|has|are coming|did)\b|"
    rf"any (?:changes|updates) (?:to|in) {_POLICY}|(?:changes|updates) (?:to|in) {_POLICY}|"
    rf"{_POLICY} (?:changed|been updated)|latest (?:changes|updates|version)\b|"
    r"in force yet|(?:taken|take|takes|come into) effect yet)",
    re.IGNORECASE,
)
_IN_FORCE = re.compile(r"\b(in force|take effect|apply yet|effective yet|come into effect)\b", re.I)
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_SINCE = re.compile(r"\bsince\s+(\d{4}-\d{2}-\d{2}|[A-Za-z]+)(?:\s+(\d{4}))?", re.IGNORECASE)


class Answering(Protocol):
    def answer(self, question: str) -> Answer: ...


def is_changes_question(question: str) -> bool:
    return bool(_CHANGES_QUESTION.search(question))


def since_date(question: str, today: date) -> date | None:
    """The date a question asks about ("since March", "since 2026-02-01"), if any: a month
    without a year is its most recent start not after today."""
    match = _SINCE.search(question)
    if not match:
        return None
    word = match.group(1)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", word):
        try:
            return date.fromisoformat(word)
        except ValueError:
            return None
    month = _MONTHS.get(word.lower())
    if month is None:
        return None
    year = int(match.group(2)) if match.group(2) else today.year
    start = date(year, month, 1)
    return start if start <= today or match.group(2) else date(year - 1, month, 1)


def _quote(text: str | None, limit: int = QUOTE_CHARS) -> str:
    words = " ".join((text or "").split())
    return words if len(words) <= limit else words[: limit - 1].rstrip() + "…"


def changed_sentences(old: str, new: str) -> tuple[list[str], list[str]]:
    """The sentences of ``new`` that ``old`` does not have (added or reworded), and the
    sentences of ``old`` dropped with nothing in their place, each in reading order."""
    before = [" ".join(s.split()) for s in split_sentences(old)]
    after = [" ".join(s.split()) for s in split_sentences(new)]
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    added: list[str] = []
    dropped: list[str] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "insert"):
            added.extend(after[j1:j2])
        elif tag == "delete":
            dropped.extend(before[i1:i2])
    return added, dropped


def what_changed(change: SectionChange) -> str:
    """What to quote of a change: the new wording of the sentences it added or reworded,
    else the sentences it removed (said as such), else the section's opening (an added or
    removed section, or a change no sentence shows, such as a line break moved)."""
    if change.change == CHANGED:
        added, dropped = changed_sentences(change.old_text or "", change.new_text or "")
        if added:
            return f"“{_quote(' '.join(added), SENTENCE_QUOTE_CHARS)}”"
        if dropped:
            return f"Removed: “{_quote(' '.join(dropped), SENTENCE_QUOTE_CHARS)}”"
    return f"“{_quote(change.old_text if change.change == REMOVED else change.new_text)}”"


def _section(change: SectionChange) -> str:
    return change.section.split(" › ")[-1] if change.section else change.document


class PolicyUpdates:
    """An answerer that knows what changed; see the module docstring."""

    def __init__(
        self,
        answerer: Answering,
        documents: DocumentStore,
        *,
        today: Callable[[], date],
        recent_days: int = RECENT_DAYS,
    ) -> None:
        self.answerer = answerer
        self.documents = documents
        self.today = today
        self.recent_days = recent_days

    def __getattr__(self, name: str) -> object:
        # index, rule_in_force, ...: whatever else callers use of the wrapped answerer.
        return getattr(self.answerer, name)

    def answer(self, question: str) -> Answer:
        if is_changes_question(question):
            return self.answer_changes(question)
        answer = self.answerer.answer(question)
        if answer.status is not Status.ANSWERED or not answer.citations:
            return answer
        return self.with_update_note(answer)

    # -- "what changed?" -------------------------------------------------------------------

    def answer_changes(self, question: str) -> Answer:
        started = time.perf_counter()
        today = self.today()
        since = since_date(question, today)
        start = since or today - timedelta(days=DEFAULT_LOOKBACK_DAYS)
        changes = self.documents.changes(since=start.isoformat(), or_recorded=True)
        if _IN_FORCE.search(question) and not since:
            changes = [c for c in self.documents.changes() if c.effective] or changes
        latest: dict[tuple[str, str, str], SectionChange] = {}
        for change in changes:  # oldest first: the latest change of each section wins
            latest[(change.path, change.section, change.effective or "")] = change
        listed = sorted(latest.values(), key=lambda c: (c.effective or "", c.path), reverse=True)
        listed = listed[:MAX_LISTED]
        when = f"since {start:%-d %B %Y}"
        if not listed:
            return Answer(
                question=question,
                status=Status.ANSWERED,
                text=f"No changes to the policies I work from have been recorded {when}.",
                citations=(),
                latency_ms=(time.perf_counter() - started) * 1000,
                composer="changes",
            )
        lines, citations = [], []
        upcoming = [c for c in listed if (c.effective or "") > today.isoformat()]
        if _IN_FORCE.search(question):
            if upcoming:
                first = upcoming[-1]
                lines.append(
                    f"Not yet: version {first.new_version} of {first.document} takes effect on "
                    f"{first.effective}; until then version {first.old_version} applies."
                )
            else:
                newest = listed[0]
                lines.append(
                    f"Yes: version {newest.new_version or newest.old_version} of "
                    f"{newest.document} has applied since {newest.effective}."
                )
        else:
            lines.append(f"Changes recorded {when}:")
        for n, change in enumerate(listed, start=1):
            future = (change.effective or "") > today.isoformat()
            verb = {ADDED: "added", REMOVED: "removed"}.get(change.change, "changed")
            applies = "takes effect" if future else "in effect since"
            versions = f"version {change.old_version or '—'} → {change.new_version or '—'}"
            lines.append(
                f"- {_section(change)} ({change.document}): {verb}, {versions}, {applies} "
                f"{change.effective}. {what_changed(change)} [{n}]"
            )
            citations.append(
                Citation(
                    n=n,
                    document=change.document,
                    section=change.section,
                    version=change.new_version if change.change != REMOVED else change.old_version,
                    source=change.path,
                    text=(change.old_text if change.change == REMOVED else change.new_text) or "",
                    score=1.0,
                )
            )
        return Answer(
            question=question,
            status=Status.ANSWERED,
            text="\n".join(lines),
            citations=tuple(citations),
            latency_ms=(time.perf_counter() - started) * 1000,
            composer="changes",
        )

    # -- ordinary answers ------------------------------------------------------------------

    def with_update_note(self, answer: Answer) -> Answer:
        """One line about the first cited section with an upcoming change (citing the
        upcoming text), else about one changed in the last :attr:`recent_days` days."""
        today = self.today()
        recent = (today - timedelta(days=self.recent_days)).isoformat()
        changes = self.documents.changes(since=recent, or_recorded=True)
        if not changes:
            return answer
        cited = [(c.document, c.section) for c in answer.citations]
        by_section: dict[tuple[str, str], list[SectionChange]] = {}
        for change in changes:
            by_section.setdefault((change.document, change.section), []).append(change)
        for key in cited:
            upcoming = [
                c for c in by_section.get(key, []) if (c.effective or "") > today.isoformat()
            ]
            if upcoming:
                change = upcoming[-1]
                n = len(answer.citations) + 1
                if change.change == REMOVED:
                    line = (
                        f"From {change.effective}, version {change.new_version} of "
                        f"{change.document} removes this section. [{n}]"
                    )
                else:
                    line = (
                        f"From {change.effective}, version {change.new_version} of "
                        f"{change.document} changes this: “{_quote(change.new_text)}” [{n}]"
                    )
                citation = Citation(
                    n=n,
                    document=change.document,
                    section=change.section,
                    version=change.new_version,
                    source=change.path,
                    text=(change.new_text or change.old_text or ""),
                    score=0.0,
                )
                return replace(
                    answer,
                    text=f"{answer.text}\n\n{line}",
                    citations=(*answer.citations, citation),
                )
        for key in cited:
            past = [c for c in by_section.get(key, []) if (c.effective or "") <= today.isoformat()]
            if past:
                change = past[-1]
                on = max(change.effective or "", (change.recorded_at or "")[:10])
                line = (
                    f"Note: {_section(change)} changed on {on} (version "
                    f"{change.old_version or '—'} → {change.new_version or '—'})."
                )
                return replace(answer, text=f"{answer.text}\n\n{line}")
        return answer
