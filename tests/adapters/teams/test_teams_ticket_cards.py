"""Ticket cards live in the shared store: any process finds the card another one posted."""

from __future__ import annotations

from pathlib import Path

from adapters.teams.notifier import TicketCards
from bot.settings import Settings
from bot.store import open_store
from bot.store.deliveries import CardAddress


async def test_a_card_remembered_by_one_process_is_found_by_another(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, _env_file=None)
    process_a, process_b = open_store(settings), open_store(settings)
    try:
        await TicketCards(process_a).remember("INC-2026-0007", "19:support@thread", "act-1")
        assert await TicketCards(process_b).get("INC-2026-0007") == CardAddress(
            "19:support@thread", "act-1"
        )
        await TicketCards(process_b).remember("INC-2026-0007", "19:support@thread", "act-2")
        assert await TicketCards(process_a).get("INC-2026-0007") == CardAddress(
            "19:support@thread", "act-2"
        )
        assert await TicketCards(process_a).get("INC-2026-0008") is None
    finally:
        process_a.close()
        process_b.close()
