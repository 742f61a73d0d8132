"""What the platform adapters remember across server processes: which events they already
handled (delivery dedupe) and which platform message shows which ticket (card memory).

Both are adapter state, kept apart from :class:`~bot.store.Store` so the store itself only
offers sessions: each adapter builds the one it needs over the shared store.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

import sqlalchemy as sa

from bot.store import Store
from bot.store.schema import ProcessedEventRow, TicketCardRow

# A delivery claimed but not answered within this long is claimed again by a retry.
DELIVERY_LEASE = timedelta(seconds=30)
CLAIMED, ANSWERED = "claimed", "answered"


class DeliveryLedger:
    """Each platform event handled once, however often the platform sends it."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def claim(self, platform: str, event_id: str, *, lease: timedelta = DELIVERY_LEASE) -> bool:
        """True when this caller should handle ``(platform, event_id)``, False for a repeat.

        Adapters call this for each incoming platform event (Slack ``event_id``, Teams
        conversation + activity id) and drop repeats. It holds across processes: the pair is
        the table's primary key. A claim is a lease until :meth:`finish` marks the event
        answered: if the claimant dies in between, a retry arriving after ``lease`` is
        claimed again (one conditional upsert), so the event is still answered.
        """
        table = ProcessedEventRow.__table__
        now = datetime.now(UTC)
        values = {"claimed_at": now, "lease_until": now + lease, "state": CLAIMED}
        statement = (
            self.store.insert(table)
            .values(platform=platform, event_id=event_id, **values)
            .on_conflict_do_update(
                index_elements=["platform", "event_id"],
                set_=values,
                where=(table.c["state"] == CLAIMED) & (table.c["lease_until"] < now),
            )
            .returning(table.c["event_id"])
        )
        with self.store.engine.begin() as connection:
            return connection.execute(statement).first() is not None

    def finish(self, platform: str, event_id: str) -> None:
        """Mark a claimed event answered: from now on every repeat is dropped for good."""
        table = cast(sa.Table, ProcessedEventRow.__table__)
        with self.store.engine.begin() as connection:
            connection.execute(
                sa.update(table)
                .where(table.c["platform"] == platform, table.c["event_id"] == event_id)
                .values(state=ANSWERED)
            )


class CardMemory:
    """Which of one platform's messages shows which ticket, so every process updates the
    same card. ``card_ref`` is the platform's own encoding of the message's address."""

    def __init__(self, store: Store, platform: str) -> None:
        self.store = store
        self.platform = platform

    def remember(self, reference: str, card_ref: str) -> None:
        """Record the message showing ticket ``reference`` (last writer wins)."""
        table = TicketCardRow.__table__
        values = {"card_ref": card_ref, "updated_at": datetime.now(UTC)}
        statement = (
            self.store.insert(table)
            .values(platform=self.platform, reference=reference, **values)
            .on_conflict_do_update(index_elements=["platform", "reference"], set_=values)
        )
        with self.store.engine.begin() as connection:
            connection.execute(statement)

    def recall(self, reference: str) -> str | None:
        """The card reference :meth:`remember` stored, from any process, or None."""
        table = TicketCardRow.__table__
        query = sa.select(table.c["card_ref"]).where(
            table.c["platform"] == self.platform, table.c["reference"] == reference
        )
        with self.store.engine.connect() as connection:
            return connection.execute(query).scalar_one_or_none()
