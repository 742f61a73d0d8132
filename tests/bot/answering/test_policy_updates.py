"""Policy updates reach answers: a version announced ahead of its effective date is stored
beside the one in force (which keeps answering, with one line about what changes and when),
takes over on the date without an admin re-ingesting, in every process, and "what changed?"
questions are answered from the recorded changes."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from bot.answering.engine import Engine
from bot.assembly import build_assistant
from bot.handoff.ports import Reporter
from bot.handoff.tickets import AnswerRecord, Escalation
from bot.models import Status
from bot.settings import BUNDLED_SOURCES
from bot.store import open_store
from bot.store.documents import DocumentStore
from bot.store.schema import OutboxRow, SectionChangeRow

POLICY = "example-genai-policy.md"
OLD = "Never enter personal data into a public chatbot."
NEW = "Do not enter personal data into any public chatbot, even with names removed."
QUESTION = "Can I enter personal data into a public chatbot?"
ON_THE_DAY = datetime(2099, 1, 2, 9, 0, tzinfo=UTC)


def announce_version_3(sources: Path) -> None:
    path = sources / POLICY
    text = path.read_text(encoding="utf-8")
    assert OLD in text and 'version: "2.1"' in text and "effective: 2025-10-01" in text
    text = text.replace(OLD, NEW, 1).replace('version: "2.1"', 'version: "3.0"', 1)
    path.write_text(text.replace("effective: 2025-10-01", "effective: 2099-01-01", 1))


def replica_on_copied_sources(engine: Engine, make_engine, tmp_path: Path, **settings) -> Engine:
    """An engine over a copy of the bundled sources (and of ``engine``'s index) in
    ``tmp_path``, ingested once: version 2.1 in force, stored, no change recorded."""
    sources = tmp_path / "sources"
    shutil.copytree(BUNDLED_SOURCES, sources)
    shutil.copytree(engine.settings.resolved_index_dir, tmp_path / "data" / "index")
    replica = make_engine(sources=[sources], **settings)
    assert replica.ingest().changes == []
    return replica


def due(engine: Engine) -> list[str]:
    store = open_store(engine.settings)
    try:
        return DocumentStore(store).due(engine.today())
    finally:
        store.close()


def recorded(engine: Engine) -> int:
    store = open_store(engine.settings)
    try:
        with store.engine.connect() as connection:
            return connection.execute(
                sa.select(sa.func.count()).select_from(SectionChangeRow.__table__)
            ).scalar_one()
    finally:
        store.close()


def stale_cards_queued(engine: Engine) -> int:
    store = open_store(engine.settings)
    try:
        with store.engine.connect() as connection:
            return connection.execute(
                sa.select(sa.func.count())
                .select_from(OutboxRow.__table__)
                .where(OutboxRow.__table__.c["event"] == "stale")
            ).scalar_one()
    finally:
        store.close()


async def test_an_announced_version_waits_for_its_date_then_takes_over(
    engine: Engine, make_engine, database_url: str, tmp_path: Path
) -> None:
    sources = tmp_path / "sources"
    replica = replica_on_copied_sources(engine, make_engine, tmp_path, database_url=database_url)
    # A ticket whose answer cited 4.2: its card says the answer went stale on the date only.
    earlier = build_assistant(replica)
    first = await earlier.ask(QUESTION)
    answer_id = earlier.handoff.record_answer(
        AnswerRecord("slack", "k" * 64, QUESTION, first.text, "answered", first.citations)
    )
    earlier.handoff.escalate(
        Escalation(reporter=Reporter(platform="slack", user_id="U1"), answer_id=answer_id)
    )

    announce_version_3(sources)
    report = replica.ingest()
    [change] = report.changes
    assert (change.old_version, change.new_version, change.effective) == (
        "2.1",
        "3.0",
        "2099-01-01",
    )
    assert report.as_json()["chunks"]["updated"] == 0, "the index keeps the version in force"
    assert due(replica) == []
    assert stale_cards_queued(replica) == 0, "not in force yet"

    assistant = build_assistant(replica)
    answer = await assistant.ask(QUESTION)
    assert answer.status is Status.ANSWERED
    cited = [c for c in answer.citations if c.section.endswith("4.2 Personal data")]
    assert cited and cited[0].version == "2.1" and OLD in cited[0].text
    line = answer.text.splitlines()[-1]
    assert line.startswith("From 2099-01-01, version 3.0 of Harbourview")
    upcoming = answer.citations[-1]
    assert line.endswith(f"[{upcoming.n}]") and upcoming.version == "3.0" and NEW in upcoming.text

    in_force = await assistant.ask("Is the new policy in force yet?")
    assert in_force.text.startswith("Not yet: version 3.0 of Harbourview")
    assert "takes effect on 2099-01-01" in in_force.text
    assert in_force.citations and NEW in in_force.citations[0].text

    # The date comes. Another process notices (nobody re-ingests) and switches the index.
    other = dataclasses.replace(
        make_engine(sources=[sources], database_url=database_url), clock=lambda: ON_THE_DAY
    )
    assert replica.switch_due() is None, "not due yet for the first process"
    switched = other.switch_due()
    assert switched is not None and switched.changes == [], "recorded once, when announced"
    assert recorded(replica) == 1
    assert stale_cards_queued(replica) == 1, "in force now: the card is updated"
    assert other.switch_due() is None, "nothing left due"

    replica.index.refresh()  # as the first process's pointer check does within seconds
    later = build_assistant(dataclasses.replace(replica, clock=lambda: ON_THE_DAY))
    answer = await later.ask(QUESTION)
    cited = [c for c in answer.citations if c.section.endswith("4.2 Personal data")]
    assert cited and cited[0].version == "3.0" and NEW in cited[0].text
    assert answer.text.splitlines()[-1] == (
        "Note: 4.2 Personal data changed on 2099-01-01 (version 2.1 → 3.0)."
    )

    changed = await later.ask("What changed in the AI policy?")
    assert changed.status is Status.ANSWERED and changed.composer == "changes"
    assert "4.2 Personal data (Harbourview" in changed.text and "version 2.1 → 3.0" in changed.text
    assert f"in effect since 2099-01-01. “{NEW}” [1]" in changed.text, "the reworded sentence"
    assert changed.citations[0].section.endswith("4.2 Personal data")
    assert "[1]" in changed.text
    assistant.store.close()
    later.store.close()
    earlier.store.close()


async def test_with_no_recorded_changes_the_answer_says_so(engine: Engine) -> None:
    assistant = build_assistant(engine)
    answer = await assistant.ask("Anything new since March?")
    assert answer.text.startswith(
        "No changes to the policies I work from have been recorded since 1 March"
    )
    assert answer.citations == ()
    assistant.store.close()


def test_what_changed_questions_are_told_from_ordinary_ones() -> None:
    from datetime import date

    from bot.answering.updates import is_changes_question, since_date

    for question in (
        "What changed in the AI policy?",
        "Anything new since March?",
        "Is the new policy in force yet?",
        "Has the AI policy changed?",
        "What changes were made to the guidance?",
    ):
        assert is_changes_question(question), question
    for question in (
        "Does the new policy allow ChatGPT?",
        "Can I make changes to the document with ChatGPT?",
        "What changes should I make before pasting a contract?",
        "Can I use Otter.ai to transcribe meetings?",
    ):
        assert not is_changes_question(question), question
    today = date(2026, 11, 29)
    assert since_date("anything new since March?", today) == date(2026, 3, 1)
    assert since_date("anything new since December?", today) == date(2025, 12, 1)
    assert since_date("changes since 2026-02-01?", today) == date(2026, 2, 1)
    assert since_date("what changed?", today) is None


def test_a_change_is_quoted_by_the_sentences_it_rewords_adds_or_removes() -> None:
    from bot.answering.updates import what_changed
    from knowledge.changes import ADDED, CHANGED, SectionChange

    opening = "Personal data is any information about a living person."
    rule = "Ask the Data Protection Officer first."

    def change(old: str | None, new: str | None, kind: str = CHANGED) -> SectionChange:
        return SectionChange("p.md", "Policy", "4.2 Personal data", kind, old, new)

    reworded = change(f"{opening} {OLD}\n\n{rule}", f"{opening} {NEW}\n\n{rule}")
    assert what_changed(reworded) == f"“{NEW}”"
    added = change(f"{opening} {OLD}", f"{opening} {OLD} {rule}")
    assert what_changed(added) == f"“{rule}”"
    removed = change(f"{opening} {OLD} {rule}", f"{opening} {rule}")
    assert what_changed(removed) == f"Removed: “{OLD}”"
    # No sentence differs (a paragraph break moved): the section's opening, as before.
    rewrapped = change(f"{opening} {OLD}", f"{opening}\n\n{OLD}")
    assert what_changed(rewrapped) == f"“{opening} {OLD}”"
    assert what_changed(change(None, f"{opening} {OLD}", ADDED)).startswith(f"“{opening}")
