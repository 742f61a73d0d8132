"""``policybot chat``: the terminal reaches every route of the Assistant."""

from __future__ import annotations

import getpass

from adapters.cli.chat import run
from bot.handoff.lifecycle import SupportQueue
from bot.handoff.tickets import TicketKind, TicketQuery
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
