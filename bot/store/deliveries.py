"""What the platform adapters remember across server processes: which events they already
handled (delivery dedupe) and which platform message shows which ticket (card memory).

Both are adapter state, kept apart from :class:`~bot.store.Store` so the store itself only
offers sessions: each adapter builds the one it needs over the shared store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
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


@dataclass(frozen=True)
class CardAddress:
    """Where a platform message is: its conversation (Slack channel, Teams conversation id)
    and the message in it (Slack ``ts``, Teams activity id)."""

    conversation: str
    message: str

    def encoded(self) -> str:
        return json.dumps({"conversation": self.conversation, "message": self.message})

    @classmethod
    def decoded(cls, text: str) -> CardAddress:
        """Read :meth:`encoded` text, and the two encodings rows were written in before it
        (Slack's ``"<channel> <ts>"``, Teams' JSON with an ``activity`` key)."""
        if not text.startswith("{"):
            conversation, _, message = text.partition(" ")
            return cls(conversation, message)
        data = json.loads(text)
        return cls(str(data["conversation"]), str(data.get("message") or data["activity"]))


class CardMemory:
    """Which of one platform's messages shows which ticket, so every process updates the
    same card rather than posting a second one."""

    def __init__(self, store: Store, platform: str) -> None:
        self.store = store
        self.platform = platform

    def remember(self, reference: str, address: CardAddress) -> None:
        """Record the message showing ticket ``reference`` (last writer wins)."""
        table = TicketCardRow.__table__
        values = {"card_ref": address.encoded(), "updated_at": datetime.now(UTC)}
        statement = (
            self.store.insert(table)
            .values(platform=self.platform, reference=reference, **values)
            .on_conflict_do_update(index_elements=["platform", "reference"], set_=values)
        )
        with self.store.engine.begin() as connection:
            connection.execute(statement)

    def recall(self, reference: str) -> CardAddress | None:
        """The address :meth:`remember` stored, from any process, or None."""
        table = TicketCardRow.__table__
        query = sa.select(table.c["card_ref"]).where(
            table.c["platform"] == self.platform, table.c["reference"] == reference
        )
        with self.store.engine.connect() as connection:
            stored = connection.execute(query).scalar_one_or_none()
        return None if stored is None else CardAddress.decoded(stored)
