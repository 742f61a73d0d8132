"""The models in ``bot/store/schema.py`` describe exactly what the migrations build.

Alembic's autogenerate compares ``target_metadata`` with a migrated database: any table,
column, index or type the models and the migrations disagree on shows up as a difference
(a console table missing from the metadata appeared as ``remove_table``).
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.store import Store
from bot.store.schema import Base


def test_autogenerate_finds_nothing_to_change_on_a_freshly_migrated_database(
    store: Store,
) -> None:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_the_console_tables_are_part_of_the_core_schema() -> None:
    tables = set(Base.metadata.tables)
    assert {"console_users", "console_sessions", "console_ingest_runs"} <= tables
    assert "console_account_events" in tables
