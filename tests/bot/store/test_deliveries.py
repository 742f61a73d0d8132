"""Delivery dedupe (each platform event handled once, across processes, with a lease) and
card memory (one encoding for every platform; rows written before it still read)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from bot.store import Store
from bot.store.deliveries import CardAddress, CardMemory, DeliveryLedger
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


def test_a_delivery_is_claimed_only_the_first_time(store: Store) -> None:
    assert DeliveryLedger(store).claim("slack", "Ev01") is True
    assert DeliveryLedger(store).claim("slack", "Ev01") is False
    assert DeliveryLedger(store).claim("teams", "Ev01") is True


def test_a_delivery_has_one_winner_among_concurrent_callers(store: Store) -> None:
    barrier = threading.Barrier(8)

    def claim(_: int) -> bool:
        barrier.wait()
        return DeliveryLedger(store).claim("slack", "Ev-race")

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(claim, range(8)))
    assert results.count(True) == 1


def test_a_claim_never_answered_is_claimed_again_after_its_lease(store: Store) -> None:
    """The process that claimed the event died before answering: a retry still gets it."""
    assert DeliveryLedger(store).claim("teams", "c|1", lease=timedelta(seconds=-1)) is True
    assert DeliveryLedger(store).claim("teams", "c|1") is True, "the lease ran out: taken over"
    assert DeliveryLedger(store).claim("teams", "c|1") is False, "now leased by the new claimant"

    DeliveryLedger(store).finish("teams", "c|1")
    assert DeliveryLedger(store).claim("teams", "c|1", lease=timedelta(seconds=-1)) is False
    assert DeliveryLedger(store).claim("teams", "c|1") is False, "answered: dropped for good"
