"""One ingest at a time across every process: a lock row in the shared database.

Two ingests at once (a console upload on one replica, ``policybot ingest`` in a shell, the
ingest job) would each build a collection and switch the pointer; the one finishing first
deletes the other's half-built collection. The lock is one row; taking it is one upsert
that succeeds only when the row is free or its holder stopped renewing it (a killed run),
so a crashed ingest never blocks the next one for longer than :data:`STALE_AFTER`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from bot.errors import PolicyBotError
from bot.settings import Settings
from bot.store.schema import IngestLockRow

log = logging.getLogger(__name__)

LOCK_NAME = "ingest"
# The holder renews the lock every RENEW_EVERY; a lock not renewed for STALE_AFTER belongs
# to a process that died, and the next ingest takes it over.
RENEW_EVERY = timedelta(seconds=20)
STALE_AFTER = timedelta(minutes=2)


class IngestRunning(PolicyBotError):
    """Another process is ingesting; the message says since when and where."""


def process_name() -> str:
    """Who holds the lock, for the message another process shows: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


class IngestLock:
    """The database-wide ingest lock over an SQLAlchemy engine (SQLite or PostgreSQL)."""

    def __init__(
        self,
        engine: sa.Engine,
        *,
        stale_after: timedelta = STALE_AFTER,
        renew_every: timedelta = RENEW_EVERY,
    ) -> None:
        self.engine = engine
        self.stale_after = stale_after
        self.renew_every = renew_every

    def _insert(self) -> Any:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(IngestLockRow.__table__)

    def acquire(self, holder: str, *, now: datetime | None = None) -> None:
        """Take the lock for ``holder`` (a unique token).

        Raises:
            IngestRunning: another holder renewed it within :attr:`stale_after`.
        """
        now = now or datetime.now(UTC)
        table = cast(sa.Table, IngestLockRow.__table__)
        values = {"holder": holder, "owner": process_name(), "started_at": now, "renewed_at": now}
        statement = (
            self._insert()
            .values(name=LOCK_NAME, **values)
            .on_conflict_do_update(
                index_elements=["name"],
                set_=values,
                where=table.c["renewed_at"] < now - self.stale_after,
            )
            .returning(table.c["holder"])
        )
        with self.engine.begin() as connection:
            taken = connection.execute(statement).scalar_one_or_none()
            if taken == holder:
                return
            current = connection.execute(
                sa.select(table.c["started_at"], table.c["owner"]).where(
                    table.c["name"] == LOCK_NAME
                )
            ).one()
        raise IngestRunning(
            f"an ingest is already running since {current.started_at:%Y-%m-%d %H:%M:%S} UTC "
            f"(in {current.owner}); wait for it to finish, then try again"
        )

    def renew(self, holder: str) -> bool:
        """Keep the lock alive; False if it was taken over (this holder looked dead)."""
        table = cast(sa.Table, IngestLockRow.__table__)
        with self.engine.begin() as connection:
            result = connection.execute(
                sa.update(table)
                .where(table.c["name"] == LOCK_NAME, table.c["holder"] == holder)
                .values(renewed_at=datetime.now(UTC))
            )
        return bool(result.rowcount)

    def release(self, holder: str) -> None:
        table = cast(sa.Table, IngestLockRow.__table__)
        with self.engine.begin() as connection:
            connection.execute(
                sa.delete(table).where(table.c["name"] == LOCK_NAME, table.c["holder"] == holder)
            )

    def held(self, *, now: datetime | None = None) -> bool:
        """Is a live holder (one that renewed within :attr:`stale_after`) ingesting now?"""
        now = now or datetime.now(UTC)
        table = cast(sa.Table, IngestLockRow.__table__)
        with self.engine.connect() as connection:
            renewed = connection.execute(
                sa.select(table.c["renewed_at"]).where(table.c["name"] == LOCK_NAME)
            ).scalar_one_or_none()
        return renewed is not None and renewed >= now - self.stale_after

    @contextmanager
    def hold(self) -> Iterator[str]:
        """Hold the lock for the ``with`` block, renewing it from a thread meanwhile.

        Raises:
            IngestRunning: another process holds it.
        """
        holder = uuid.uuid4().hex
        self.acquire(holder)
        stop = threading.Event()

        def keep_alive() -> None:
            while not stop.wait(self.renew_every.total_seconds()):
                try:
                    if not self.renew(holder):
                        log.error("ingest lock was taken over; this run looked dead")
                        return
                except Exception:  # a database blip: try again at the next interval
                    log.warning("could not renew the ingest lock", exc_info=True)

        renewer = threading.Thread(target=keep_alive, name="ingest-lock", daemon=True)
        renewer.start()
        try:
            yield holder
        finally:
            stop.set()
            renewer.join()
            self.release(holder)


@contextmanager
def ingest_lock_for(settings: Settings) -> Iterator[IngestLock]:
    """The ingest lock on the configured database (opened, migrated, closed after)."""
    from bot.store import open_store

    store = open_store(settings)
    try:
        yield IngestLock(store.engine)
    finally:
        store.close()
