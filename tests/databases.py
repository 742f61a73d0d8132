"""Database backends for store tests: SQLite always, PostgreSQL when
``POLICYBOT_TEST_DATABASE_URL`` names one (``.ci/run`` sets it when a server answers).

On PostgreSQL each test session works in a schema of its own (created here, dropped at the
end), and every test starts from empty tables; on SQLite every test gets a new file.
Conftests import the fixtures below to use them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.settings import Settings
from bot.store import open_store
from bot.store.activity import ActivityLog, IngestRun
from bot.store.schema import Base

TEST_DATABASE_URL = os.environ.get("POLICYBOT_TEST_DATABASE_URL")
BACKENDS = [
    "sqlite",
    *([pytest.param("postgresql", marks=pytest.mark.postgres)] if TEST_DATABASE_URL else []),
]


def with_search_path(url: str, schema: str) -> str:
    """``url`` with libpq's ``options=-csearch_path=<schema>``, so every connection of
    every process given this URL works in ``schema``."""
    parsed = sa.engine.make_url(url)
    return parsed.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated schema of its own on the test PostgreSQL server, dropped afterwards."""
    if not TEST_DATABASE_URL:
        pytest.skip("POLICYBOT_TEST_DATABASE_URL is not set")
    schema = f"policybot_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = with_search_path(TEST_DATABASE_URL, schema)
    open_store(Settings(database_url=url, _env_file=None)).close()
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def empty_tables(url: str) -> None:
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL to an empty, migrated (or about to be) database of each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url = request.getfixturevalue("postgres_url")
    empty_tables(url)
    return url


def ingest_runs_of(settings: Settings) -> list[IngestRun]:
    """The activity log's ingest runs in the database ``settings`` name (an engine records
    its runs there, beside its ingest lock)."""
    store = open_store(settings)
    try:
        return ActivityLog(store.engine).ingest_runs()
    finally:
        store.close()
