"""Notes to the askers of stale answers, at the store (SQLite and PostgreSQL): who can be
reached, once per answer, failures kept and re-queued, and nothing left after retention."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from adapters.cli import main as cli_main
from bot.answering.engine import Engine
from bot.answering.stale import stale_answers
from bot.handoff.outbox import MAX_ATTEMPTS, Notifiers, OutboxRelay, backoff
from bot.handoff.stale_notes import (
    ALREADY_SENT,
    QUEUED,
    REQUEUED,
    UNREACHABLE,
    NotStale,
    note_states,
    notify,
)
from bot.handoff.submissions import Handoff
from bot.handoff.tickets import AnswerRecord
from bot.models import Citation
from bot.privacy.retention import purge
from bot.settings import Settings
from bot.store import Store
from bot.store.schema import AnswerRow, StaleNoteRow
from tests.announce_fixtures import record_changes
from tests.bot.fakes import FakeClock, RecordingNotifier

QUESTION = "Can I paste customer data into ChatGPT?"
CITED = Citation(1, "AI Policy", "4.2 Personal data", "2", "ai-policy.md", "Never.", 0.9)
SLACK_THREAD = '{"channel": "D0MEI", "thread_ts": "1736929812.345679"}'


def answered(handoff: Handoff, platform: str, reply_to: str | None, *cited: Citation) -> str:
    return handoff.record_answer(
        AnswerRecord(platform, "k" * 64, QUESTION, "No. [1]", "answered", cited, reply_to)
    )


def section_changed(store: Store, clock: FakeClock) -> None:
    clock.advance(hours=1)
    record_changes(
        store,
        ("4.2 Personal data", "changed", "Never paste customer data."),
        at=clock(),
        effective=clock().date().isoformat(),
    )
    clock.advance(hours=1)


def relay_with(store: Store, clock: FakeClock, notifier: RecordingNotifier) -> OutboxRelay:
    notifiers = Notifiers()
    notifiers.register(notifier)
    return OutboxRelay(store, notifiers, clock=clock)


def test_only_an_answer_that_cited_something_keeps_a_way_back(
    handoff: Handoff, store: Store
) -> None:
    cited = answered(handoff, "slack", SLACK_THREAD, CITED)
    uncited = answered(handoff, "slack", SLACK_THREAD)
    with store.transaction() as session:
        assert session.get(AnswerRow, cited).reply_to == SLACK_THREAD  # type: ignore[union-attr]
        assert session.get(AnswerRow, uncited).reply_to is None  # type: ignore[union-attr]


async def test_each_reachable_asker_is_notified_once(
    handoff: Handoff, store: Store, clock: FakeClock, engine: Engine
) -> None:
    slack = answered(handoff, "slack", SLACK_THREAD, CITED)
    console = answered(handoff, "web", None, CITED)
    section_changed(store, clock)
    stale = stale_answers(store, now=clock())
    assert {a.answer_id: a.reachable for a in stale} == {slack: True, console: False}

    outcomes = {
        o.answer_id: o for o in notify(store, stale, engine.answerer.answer, by="ada", clock=clock)
    }
    assert outcomes[slack].state == QUEUED
    assert outcomes[console].state == UNREACHABLE
    assert outcomes[console].detail == "cannot be notified (asked in the console)"
    with pytest.raises(NotStale, match="policybot changes --stale"):
        notify(store, stale, engine.answerer.answer, by="ada", answer_ids=["nope"], clock=clock)

    notifier = RecordingNotifier(platform="slack")
    relay = relay_with(store, clock, notifier)
    assert await relay.deliver_pending() == 1
    [(address, reply)] = notifier.notes
    assert address == SLACK_THREAD
    assert reply.text.startswith(
        "The policy section your earlier answer relied on (4.2 Personal data) changed on "
        f"{clock().date().isoformat()}. Updated answer:\n\n"
    )
    assert reply.citations and reply.ai_generated and not reply.actions
    state = note_states(store, [slack])[slack]
    assert state.requested_by == "ada" and state.sent_at == clock()

    [again] = notify(
        store, stale, engine.answerer.answer, by="bob", answer_ids=[slack], clock=clock
    )
    assert again.state == ALREADY_SENT
    assert await relay.deliver_pending() == 0 and len(notifier.notes) == 1


def stale_notes_in_db_status(capsys: pytest.CaptureFixture[str]) -> tuple[int, int]:
    """``policybot db status``'s pending and failed stale-answer notes."""
    assert cli_main(["db", "status"]) == 0
    status = json.loads(capsys.readouterr().out)
    return status["pending_stale_notes"], status["failed_stale_notes"]


async def test_a_failed_note_is_kept_with_its_error_and_can_be_queued_again(
    handoff: Handoff,
    store: Store,
    store_settings: Settings,
    clock: FakeClock,
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("POLICYBOT_DATA_DIR", str(tmp_path / "cli-data"))
    monkeypatch.setenv("POLICYBOT_DATABASE_URL", store_settings.resolved_database_url)
    slack = answered(handoff, "slack", SLACK_THREAD, CITED)
    section_changed(store, clock)
    stale = stale_answers(store, now=clock())
    notify(store, stale, engine.answerer.answer, by="ada", clock=clock)
    assert stale_notes_in_db_status(capsys) == (1, 0), "queued: pending, not failed"
    notifier = RecordingNotifier(platform="slack", fail=True)
    relay = relay_with(store, clock, notifier)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert await relay.deliver_pending() == 0
        clock.advance(seconds=backoff(attempt).total_seconds() + 1)
    state = note_states(store, [slack])[slack]
    assert state.sent_at is None and state.attempts == MAX_ATTEMPTS
    assert state.last_error == "ConnectionError: platform unreachable"
    assert await relay.deliver_pending() == 0  # given up until someone asks again
    assert stale_notes_in_db_status(capsys) == (1, 1), "still not sent, and given up"

    notifier.fail = False
    [retry] = notify(
        store, stale, engine.answerer.answer, by="ada", answer_ids=[slack], clock=clock
    )
    assert retry.state == REQUEUED and "platform unreachable" in retry.detail
    assert await relay.deliver_pending() == 1 and len(notifier.notes) == 1
    assert note_states(store, [slack])[slack].last_error is None
    assert stale_notes_in_db_status(capsys) == (0, 0)


def test_retention_removes_the_note_and_the_way_back_with_the_answer(
    handoff: Handoff, store: Store, clock: FakeClock, engine: Engine
) -> None:
    old = answered(handoff, "slack", SLACK_THREAD, CITED)
    section_changed(store, clock)
    notify(store, stale_answers(store, now=clock()), engine.answerer.answer, by="ada", clock=clock)
    clock.advance(days=50)
    answered(handoff, "teams", '{"conversation": {"id": "a:1"}}', CITED)

    clock.advance(days=45)  # the first answer is past 90 days, the second is not
    counts = purge(store, now=clock(), conversation_days=90, closed_ticket_days=365)
    assert counts["stale_notes"] == 1 and counts["answers"] == 1
    with store.transaction() as session:
        assert session.get(AnswerRow, old) is None
        assert session.scalars(sa.select(StaleNoteRow)).all() == []
        kept = session.scalars(sa.select(AnswerRow.reply_to)).all()
    assert kept == ['{"conversation": {"id": "a:1"}}']


def test_policybot_changes_stale_notify(
    handoff: Handoff,
    store: Store,
    store_settings: Settings,
    clock: FakeClock,
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    slack = answered(handoff, "slack", SLACK_THREAD, CITED)
    console = answered(handoff, "web", None, CITED)
    section_changed(store, clock)
    data = tmp_path / "cli-data"
    shutil.copytree(engine.settings.resolved_index_dir, data / "index")
    monkeypatch.setenv("POLICYBOT_DATA_DIR", str(data))
    monkeypatch.setenv("POLICYBOT_DATABASE_URL", store_settings.resolved_database_url)

    assert cli_main(["changes", "--stale", "--notify", "--answer", "nope"]) == 2
    assert "not a stale answer: nope" in capsys.readouterr().err
    assert cli_main(["changes", "--notify"]) == 2
    assert "--notify and --answer go with --stale" in capsys.readouterr().err

    assert cli_main(["changes", "--stale", "--notify", "--by", "ada", "--json"]) == 0
    outcomes = {o["answer_id"]: o for o in map(json.loads, capsys.readouterr().out.splitlines())}
    assert outcomes[slack]["state"] == QUEUED
    assert outcomes[console]["detail"] == "cannot be notified (asked in the console)"

    assert cli_main(["changes", "--stale", "--json"]) == 0
    listed = {a["answer_id"]: a for a in map(json.loads, capsys.readouterr().out.splitlines())}
    assert listed[slack]["reachable"] and listed[slack]["note"]["requested_by"] == "ada"
    assert listed[slack]["note"]["sent"] is None
    assert not listed[console]["reachable"] and listed[console]["note"] is None
    assert cli_main(["changes", "--stale"]) == 0
    shown = capsys.readouterr().out
    assert "note requested by ada, not sent yet" in shown
    assert "cannot be notified (asked in the console)" in shown
