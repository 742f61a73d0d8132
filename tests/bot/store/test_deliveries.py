"""Card memory: one encoding for every platform, and rows written before it still read."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.store import Store
from bot.store.deliveries import CardAddress, CardMemory
from bot.store.schema import TicketCardRow


def test_a_card_address_is_kept_per_platform_and_the_last_writer_wins(store: Store) -> None:
    slack, teams = CardMemory(store, "slack"), CardMemory(store, "teams")
    slack.remember("INC-2026-0001", CardAddress("C0SUPPORT", "1700000000.000100"))
    teams.remember("INC-2026-0001", CardAddress("19:support@thread.tacv2", "act-1"))
    teams.remember("INC-2026-0001", CardAddress("19:support@thread.tacv2", "act-2"))

    assert slack.recall("INC-2026-0001") == CardAddress("C0SUPPORT", "1700000000.000100")
    assert teams.recall("INC-2026-0001") == CardAddress("19:support@thread.tacv2", "act-2")
    assert teams.recall("INC-2026-0002") is None


def test_rows_in_the_platforms_former_encodings_are_still_found(store: Store) -> None:
    now = datetime.now(UTC)
    with store.transaction() as session:
        session.add_all(
            [
                TicketCardRow(
                    platform="slack",
                    reference="INC-2026-0003",
                    card_ref="C0SUPPORT 1700000000.000200",
                    updated_at=now,
                ),
                TicketCardRow(
                    platform="teams",
                    reference="INC-2026-0003",
                    card_ref='{"conversation": "19:old@thread", "activity": "act-9"}',
                    updated_at=now,
                ),
            ]
        )

    assert CardMemory(store, "slack").recall("INC-2026-0003") == CardAddress(
        "C0SUPPORT", "1700000000.000200"
    )
    assert CardMemory(store, "teams").recall("INC-2026-0003") == CardAddress(
        "19:old@thread", "act-9"
    )
