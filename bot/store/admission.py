"""Admission counters shared by every process: how often a key was let in per time window.

Rate limits must hold across replicas behind a load balancer, so the count lives in the
database (one row per key and fixed window, incremented by one upsert), never in a process.
Keys are stored as SHA-256 digests: a client's address is personal data.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from bot.store.schema import AdmissionRow


@dataclass(frozen=True)
class Decision:
    """Whether to let the request in; if not, how many seconds until the window turns."""

    admitted: bool
    retry_after: int = 0


class Admission:
    """Fixed-window counters: at most ``limit`` admissions per key and window."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def admit(
        self, key: str, *, limit: int, window: timedelta, now: datetime | None = None
    ) -> Decision:
        now = now or datetime.now(UTC)
        seconds = window.total_seconds()
        start = datetime.fromtimestamp(math.floor(now.timestamp() / seconds) * seconds, UTC)
        table = AdmissionRow.__table__
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(table)
            .values(key_hash=hashlib.sha256(key.encode()).hexdigest(), window_start=start, count=1)
            .on_conflict_do_update(
                index_elements=["key_hash", "window_start"], set_={"count": table.c["count"] + 1}
            )
            .returning(table.c["count"])
        )
        with self.engine.begin() as connection:
            count = int(connection.execute(statement).scalar_one())
        if count <= limit:
            return Decision(admitted=True)
        return Decision(
            admitted=False, retry_after=max(1, math.ceil(seconds - (now - start).total_seconds()))
        )
