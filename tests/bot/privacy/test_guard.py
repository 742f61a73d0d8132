"""The privacy guard at the core's entrance: nothing downstream sees a raw identifier.

The end-to-end story runs the real engine (model and index) and a real store: a question
with an HKID and a phone number is answered, rated not helpful and escalated, and then the
database file and every log record are searched for the raw values.
"""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.answering.engine import Engine
from bot.assembly import build_assistant
from bot.handoff.ports import Reporter
from bot.models import Message, Status
from bot.privacy.guard import PRIVACY_POLICY_QUESTION, PrivacyNotice, describe, guard
from bot.settings import Settings
from bot.store import Store
from bot.store.schema import Base
from tests.bot.fakes import FakeClock, FakeEngine

QUESTION = "Can I put A123456(3) and 9123 4567 into ChatGPT?"
RAW_VALUES = ("A123456", "9123 4567", "91234567")
_ids = itertools.count(1)


def message(text: str) -> Message:
    return Message(
        text=text,
        user_id="U123",
        platform="slack",
        conversation_id="D123",
        message_id=f"m{next(_ids)}",
        conversation_ref="D123",
    )


def test_guard_keeps_types_in_order_and_never_values() -> None:
    guarded = guard(QUESTION)
    assert guarded.text == "Can I put [HKID] and [PHONE] into ChatGPT?"
    assert guarded.types == ("HKID", "PHONE")
    assert guard("May I use Copilot for minutes?").types == ()
    assert describe(("HKID", "PHONE", "EMAIL")) == (
        "an HKID number, a phone number and an email address"
    )


async def test_the_engine_and_the_store_see_only_the_redacted_question(
    store: Store, store_settings: Settings, clock: FakeClock
) -> None:
    engine = FakeEngine(settings=store_settings)
    assistant = build_assistant(engine, store=store, clock=clock)

    reply = await assistant.handle(message(QUESTION))

    assert engine.answerer.questions[0] == "Can I put [HKID] and [PHONE] into ChatGPT?"
    assert reply.privacy == ("HKID", "PHONE") and reply.status is Status.ANSWERED
    assert "an HKID number and a phone number" in reply.text
    assert "did not store them" in reply.text
    assert not any(raw in reply.text for raw in RAW_VALUES)
    plain = await assistant.handle(message("Can I use ChatGPT?"))
    assert plain.privacy == () and "Privacy note" not in plain.text


async def test_a_question_passed_to_a_person_is_redacted_before_the_engine(
    store: Store, store_settings: Settings, clock: FakeClock, reporter: Reporter
) -> None:
    engine = FakeEngine(settings=store_settings)
    assistant = build_assistant(engine, store=store, clock=clock)
    await assistant.ask_person(reporter, question="Is chatgpt ok for mei@example.com?")
    assert engine.answerer.questions == ["Is chatgpt ok for [EMAIL]?"]


def test_the_notice_names_the_policy_section_and_looks_it_up_once(engine: Engine) -> None:
    asked: list[str] = []

    def ask(question: str):  # noqa: ANN202 - the answerer's signature
        asked.append(question)
        return engine.answerer.answer(question)

    notice = PrivacyNotice(ask)
    first = notice.text(("HKID",))
    assert notice.text(("PHONE",)).startswith("Privacy note: your message contained what looks")
    assert asked == [PRIVACY_POLICY_QUESTION]
    assert "4.2 Personal data" in first and "did not store it" in first


async def test_hkid_question_through_feedback_and_escalation_leaves_no_raw_value(
    engine: Engine,
    store: Store,
    clock: FakeClock,
    reporter: Reporter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _log_everything(caplog)
    assistant = build_assistant(engine, store=store, clock=clock)

    reply = await assistant.handle(message(QUESTION))
    assert reply.privacy == ("HKID", "PHONE")
    assert "an HKID number and a phone number" in reply.text and "Personal data" in reply.text
    assert reply.answer_id is not None

    rated = await assistant.rate_answer(
        reporter, helpful=False, comment="my number is 9123 4567", answer_id=reply.answer_id
    )
    assert rated.reference is not None
    escalated = await assistant.ask_person(reporter, answer_id=reply.answer_id)
    assert escalated.reference is not None
    await assistant.flush_notifications()

    stored = _stored_bytes(store)
    assert b"[HKID]" in stored and b"[PHONE]" in stored  # the rows are there, redacted
    logged = caplog.text + "".join(repr(r.args) for r in caplog.records)
    assert "INSERT INTO answers" in logged  # statements and their parameters were captured
    for raw in RAW_VALUES:
        assert raw.encode() not in stored, raw
        assert raw not in logged, raw


def _log_everything(caplog: pytest.LogCaptureFixture) -> None:
    """DEBUG on the root and on every logger that set its own level (SQLAlchemy sets
    ``sqlalchemy`` to WARNING, hiding its statements and their parameters)."""
    caplog.set_level(logging.DEBUG)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and logger.level != logging.NOTSET:
            caplog.set_level(logging.DEBUG, logger=name)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")


def _stored_bytes(store: Store) -> bytes:
    """Every byte the database holds: the SQLite files, or every row on PostgreSQL."""
    if store.dialect == "sqlite":
        database = Path(str(store.engine.url.database))
        store.close()  # the last connection checkpoints the WAL into the file
        files = sorted(database.parent.glob(database.name + "*"))
        return b"".join(path.read_bytes() for path in files)
    with store.engine.connect() as connection:
        rows = [
            repr(row).encode()
            for table in Base.metadata.sorted_tables
            for row in connection.execute(sa.select(table))
        ]
    return b"".join(rows)
