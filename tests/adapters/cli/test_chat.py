"""``policybot chat``: the terminal reaches every route of the Assistant."""

from __future__ import annotations

import getpass
import io
import logging

import pytest

from adapters.cli import main
from adapters.cli.chat import QUIET_LOGGERS, format_reply, run
from bot.answering.engine import Engine
from bot.handoff.lifecycle import SupportQueue
from bot.handoff.tickets import TicketKind, TicketQuery
from bot.models import Action, Reply
from bot.settings import Settings
from bot.store import open_store
from tests.bot.fakes import FakeEngine


def test_a_terminal_session_asks_reports_and_hears_back(cli_settings: Settings) -> None:
    said: list[str] = []
    lines = iter(
        [
            "Can I use ChatGPT for work?",
            "not helpful: what about interns?",
            "I uploaded a customer contract to Claude",
            "names and addresses of 3 customers",
            "an hour ago",
            "just now",
            "yes, I deleted the share link",
            "here",
            "send",
            "my tickets",
            "",
            "never read",
        ]
    )

    def read(prompt: str) -> str:
        line = next(lines)
        if line == "my tickets":  # meanwhile, in the support team's shell
            store = open_store(cli_settings)
            queue = SupportQueue(store, cli_settings)
            [incident] = queue.list_tickets(TicketQuery(kind=TicketKind.INCIDENT)).tickets
            queue.claim(incident.reference, "alice")
            store.close()
        return line

    assert run(FakeEngine(settings=cli_settings), read=read, write=said.append) == 0
    transcript = "\n".join(said)
    assert "Only ChatGPT Enterprise is approved [1]." in transcript
    assert (
        "[1] Harbourview GenAI Policy › 3. Approved tools › 3.1 The register, version 2.0"
        in transcript
    )
    assert '(say "helpful" or "not helpful: why", "report incident", "ask a person")' in transcript
    assert "I've passed this to the support team as FB-" in transcript
    assert "Your report is INC-" in transcript
    assert "alice from the support team is now handling your incident report" in transcript
    assert next(lines) == "never read"
    store = open_store(cli_settings)
    ticket = SupportQueue(store, cli_settings).list_tickets().tickets[0]
    store.close()
    assert ticket.reporter.platform == "cli" and ticket.reporter.user_id == getpass.getuser()


def test_an_empty_line_never_drops_a_report_and_it_is_offered_back_next_time(
    cli_settings: Settings,
) -> None:
    said: list[str] = []
    first = iter(["I pasted HR data into Gemini", "", "Twelve staff names", "", ""])
    assert (
        run(FakeEngine(settings=cli_settings), read=lambda _: next(first), write=said.append) == 0
    )
    transcript = "\n".join(said)
    assert "[Reporting an AI incident · step 3 of 7]" in transcript
    assert "Your incident report is not sent yet." in transcript
    # The answer after the first empty line still counted: the report moved to step 4.
    assert "[Reporting an AI incident · step 4 of 7]" in transcript

    said.clear()
    second = iter(["continue", "yesterday", "today", "yes", "here", "send", ""])
    assert (
        run(FakeEngine(settings=cli_settings), read=lambda _: next(second), write=said.append) == 0
    )
    transcript = "\n".join(said)
    assert said[0].startswith("[Unfinished AI incident report]\nYou have an unfinished")
    assert "continue or discard?" in said[0] and '"continue", "discard"' in said[0]
    assert "Here is what I'll send to the AI Support Team:" in transcript
    assert "3. Personal data or confidential information involved" in transcript
    assert "Your report is INC-" in transcript


def test_replies_wrap_at_word_boundaries_and_keep_list_lines() -> None:
    text = "word " * 30 + "https://example.org/" + "x" * 100 + "\n1. first\n2. second"
    wrapped = format_reply(Reply(text=text, progress="Reporting an AI incident · step 1 of 7"))
    lines = wrapped.splitlines()
    assert lines[0] == "[Reporting an AI incident · step 1 of 7]"
    assert lines[-2:] == ["1. first", "2. second"]
    assert all(
        line.endswith("word") or line.startswith(("[", "https", "1.", "2.")) for line in lines
    )
    assert any(line == "https://example.org/" + "x" * 100 for line in lines)


def test_policybot_chat_reads_stdin_without_migration_log_lines(
    cli_settings: Settings,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("hi\nthanks\n\n"))
    levels = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    try:
        with caplog.at_level(logging.INFO):
            code = main(["chat", "--index", str(engine.settings.resolved_index_dir)])
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
    out = capsys.readouterr().out
    assert code == 0
    assert "Hello! I answer questions about our GenAI policy" in out
    assert "  • Can I use ChatGPT for work?" in out
    assert "You're welcome." in out and "couldn't find" not in out
    assert not [r for r in caplog.records if r.name.startswith("alembic")]


def test_a_question_typed_mid_report_without_a_question_mark_is_answered(
    cli_settings: Settings,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    typed = [
        "I pasted our client list into DeepSeek by mistake",
        "is copilot ok for writing code",
        "About 200 client names",
        "",
        "",
    ]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(typed) + "\n"))
    levels = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    try:
        code = main(["chat", "--index", str(engine.settings.resolved_index_dir)])
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
    out = capsys.readouterr().out
    assert code == 0
    flat = " ".join(out.split())
    assert "Back to your incident report: Was personal data" in flat
    # The question was answered, not stored: the next answer fills "data involved" and
    # the report moves to step 4, not 5.
    assert "[Reporting an AI incident · step 4 of 7]" in out
    assert "step 5 of 7" not in out


def test_a_reply_to_a_chinese_question_names_its_commands_in_chinese() -> None:
    actions = (Action.FEEDBACK, Action.REPORT_INCIDENT, Action.ASK_PERSON)
    chinese = format_reply(Reply(text="答案 [1]", actions=actions, language="zh"))
    # The words to type stay the commands; what each does is said in Chinese.
    assert chinese.splitlines()[-1] == (
        '(可輸入 "helpful" or "not helpful: why"（有幫助／沒有幫助）, '
        '"report incident"（報告人工智能事故）, "ask a person"（轉交支援人員）)'
    )
    english = format_reply(Reply(text="Answer [1]", actions=actions))
    assert english.splitlines()[-1] == (
        '(say "helpful" or "not helpful: why", "report incident", "ask a person")'
    )
    steps = format_reply(
        Reply(text="…", actions=(Action.SEND_REPORT, Action.CANCEL_REPORT), language="zh")
    )
    assert steps.splitlines()[-1] == '(可輸入 "send"（提交報告）, "cancel"（取消）)'
