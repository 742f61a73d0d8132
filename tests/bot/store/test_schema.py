"""The models in ``bot/store/schema.py`` describe exactly what the migrations build.

Alembic's autogenerate compares ``target_metadata`` with a migrated database: any table,
column, index or type the models and the migrations disagree on shows up as a difference
(a console table missing from the metadata appeared as ``remove_table``).
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.store import Store, connect
from bot.store.migrate import upgrade
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


def test_migration_0009_marks_the_changes_earlier_announcements_covered(tmp_path: Path) -> None:
    """Changes inside an announcement's id range stay announced; one outside (left out by
    the old rule) becomes announceable."""
    engine = connect(f"sqlite:///{tmp_path / 'upgrade.db'}")
    upgrade(engine, "0008_announcements")
    now = "2026-11-01 00:00:00.000000"
    with engine.begin() as connection:
        for change_id in (1, 2, 3):
            connection.execute(
                sa.text(
                    "INSERT INTO section_changes (id, ingest_id, document, title, section, "
                    "change, recorded_at) VALUES (:id, 'i', 'p.md', 'P', :section, 'changed', "
                    ":now)"
                ),
                {"id": change_id, "section": f"{change_id} Rule", "now": now},
            )
        connection.execute(
            sa.text(
                "INSERT INTO announcements (id, created_at, requested_by, first_change_id, "
                "last_change_id, change_count, sections, channels, attempts, due_at) VALUES "
                "(7, :now, 'ada', 2, 3, 2, '[]', '{}', 0, :now)"
            ),
            {"now": now},
        )
    upgrade(engine)
    with engine.connect() as connection:
        covered = connection.execute(
            sa.text("SELECT id, announcement_id FROM section_changes ORDER BY id")
        ).all()
    engine.dispose()
    assert [tuple(row) for row in covered] == [(1, None), (2, 7), (3, 7)]
