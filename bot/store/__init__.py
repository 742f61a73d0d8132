"""The hand-off store: one SQLAlchemy engine over SQLite (default) or PostgreSQL.

``open_store(settings)`` connects to ``settings.resolved_database_url`` and applies any
pending migration, so a fresh data directory or a new release needs no manual step.
Everything that must hold across server processes lives here as a database constraint:
idempotent submissions (a unique key), claims (a conditional UPDATE), reference numbers (an
atomic counter upsert); the adapters' delivery dedupe and card memory are in
:mod:`bot.store.deliveries`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from bot.errors import StoreError
from bot.settings import Settings
from bot.store import migrate
from bot.store.schema import ReferenceCounterRow

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
CONNECT_TIMEOUT_SECONDS = 10


def connect(url: str) -> sa.Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a generous busy timeout."""
    try:
        # hide_parameters: a failed statement's message (logged, shown) leaves out the bound
        # values, which may be an employee's redacted-but-still-personal text.
        engine = sa.create_engine(
            url,
            pool_pre_ping=not url.startswith("sqlite"),
            connect_args=_connect_args(url),
            hide_parameters=True,
        )
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise StoreError(
            f"cannot use database URL {_safe(url)}: {exc}; set POLICYBOT_DATABASE_URL to "
            "sqlite:///path/to/file.db or postgresql+psycopg://user@host:5432/dbname"
        ) from exc
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    elif engine.dialect.name != "postgresql":
        raise StoreError(
            f"{engine.dialect.name} is not supported: use SQLite or PostgreSQL "
            "(postgresql+psycopg://...) in POLICYBOT_DATABASE_URL"
        )
    return engine


def _connect_args(url: str) -> dict[str, Any]:
    """A bounded connection timeout on PostgreSQL (libpq waits forever by default), so an
    unreachable server fails start-up in seconds; a ``connect_timeout`` in the URL wins."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        return {}
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        return {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    return {}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _safe(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "(unparseable URL)"


class Store:
    """Sessions on the database and the dialect's upsert, for the core's services."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits together at the end, or not at all."""
        with self._sessions.begin() as session:
            yield session

    def insert(self, table: sa.FromClause) -> Any:
        """The dialect's INSERT construct (it has ``on_conflict_do_*``) for ``table``."""
        return (postgresql if self.dialect == "postgresql" else sqlite).insert(table)

    def next_number(self, session: Session, prefix: str, year: int) -> int:
        """The next reference number for ``prefix`` in ``year``, atomically (one upsert)."""
        table = ReferenceCounterRow.__table__
        statement = (
            self.insert(table)
            .values(prefix=prefix, year=year, last=1)
            .on_conflict_do_update(
                index_elements=["prefix", "year"], set_={"last": table.c["last"] + 1}
            )
            .returning(table.c["last"])
        )
        return int(session.execute(statement).scalar_one())

    def close(self) -> None:
        self.engine.dispose()


def open_store(settings: Settings, *, upgrade: bool = True) -> Store:
    """Connect to the configured database and make sure its schema is the current one.

    With ``upgrade`` (the default) pending migrations are applied, unless
    ``POLICYBOT_AUTO_MIGRATE`` is off: then a schema that is not at the head is an error
    telling the admin to run ``policybot db upgrade``. ``upgrade=False`` only connects (for
    ``policybot db status``). Every failure is a :class:`StoreError` naming the fix.
    """
    url = settings.resolved_database_url
    engine = connect(url)
    try:
        if upgrade and settings.auto_migrate:
            _migrate(engine, url)
        elif upgrade:
            _require_head(engine, url)
    except sa.exc.OperationalError as exc:
        engine.dispose()
        raise StoreError(
            f"cannot reach the database {_safe(url)}: {exc.orig}; check "
            "POLICYBOT_DATABASE_URL and that the server is running"
        ) from exc
    except StoreError:
        engine.dispose()
        raise
    return Store(engine)


def _migrate(engine: sa.Engine, url: str) -> None:
    try:
        before, after = migrate.upgrade(engine)
    except sa.exc.OperationalError:
        raise
    except sa.exc.SQLAlchemyError as exc:
        raise StoreError(
            f"cannot migrate the database {_safe(url)}: {getattr(exc, 'orig', exc)}; run "
            "`policybot db upgrade` as a database user allowed to create tables, then start "
            "again (set POLICYBOT_AUTO_MIGRATE=false if the servers' user may not change the "
            "schema)"
        ) from exc
    if before != after:
        log.info("store %s migrated from %s to %s", _safe(url), before or "empty", after)


def _require_head(engine: sa.Engine, url: str) -> None:
    revision, head = migrate.current_revision(engine), migrate.head_revision()
    if revision == head:
        return
    found = "has no policybot schema" if revision is None else f"is at revision {revision}"
    raise StoreError(
        f"the database {_safe(url)} {found}, this release needs revision {head}, and "
        "POLICYBOT_AUTO_MIGRATE is off: run `policybot db upgrade` with the same "
        "POLICYBOT_DATABASE_URL, then start again"
    )


__all__ = ["Store", "connect", "open_store"]
