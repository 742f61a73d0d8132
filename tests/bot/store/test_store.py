"""The store's cross-process guarantees: migrations, reference numbers, the audit trail."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.errors import StoreError
from bot.privacy.retention import purge
from bot.settings import Settings
from bot.store import Store, open_store
from bot.store.deliveries import DeliveryLedger
from bot.store.migrate import current_revision, head_revision
from bot.store.schema import SharedValueRow


def test_open_store_migrates_to_head_and_a_second_open_changes_nothing(
    store: Store, store_settings: Settings
) -> None:
    assert current_revision(store.engine) == head_revision()
    again = open_store(store_settings)
    assert current_revision(again.engine) == head_revision()
    again.close()


def test_the_default_database_is_a_sqlite_file_in_the_data_dir(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)
    store = open_store(settings)
    assert store.dialect == "sqlite"
    assert (tmp_path / "data" / "policybot.db").exists()
    store.close()


def test_an_unusable_database_url_names_the_setting(tmp_path) -> None:
    with pytest.raises(StoreError, match="POLICYBOT_DATABASE_URL"):
        open_store(Settings(database_url="mysql://nobody@localhost/x", _env_file=None))
    with pytest.raises(StoreError, match="cannot reach the database"):
        open_store(
            Settings(
                database_url="postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2",
                _env_file=None,
            )
        )


def test_reference_numbers_are_unique_under_concurrency(store: Store) -> None:
    def take(_: int) -> int:
        with store.transaction() as session:
            return store.next_number(session, "INC", 2026)

    with ThreadPoolExecutor(max_workers=6) as pool:
        numbers = list(pool.map(take, range(60)))
    assert sorted(numbers) == list(range(1, 61))
    with store.transaction() as session:
        assert store.next_number(session, "INC", 2027) == 1
        assert store.next_number(session, "ESC", 2026) == 1


def test_the_audit_trail_cannot_be_rewritten(store: Store, handoff, reporter) -> None:
    from bot.handoff.tickets import GeneralFeedback

    handoff.general_feedback(GeneralFeedback(reporter=reporter, text="More examples, please"))
    for statement in (
        "UPDATE ticket_events SET actor = 'someone else'",
        "DELETE FROM ticket_events",
    ):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), store.engine.begin() as c:
            c.execute(sa.text(statement))


def test_the_purge_forgets_deliveries_after_the_retry_window(store: Store) -> None:
    def purge_at(days: int) -> dict[str, int]:
        now = datetime.now(UTC) + timedelta(days=days)
        return purge(store, conversation_days=90, closed_ticket_days=365, now=now)

    assert DeliveryLedger(store).claim("slack", "a") and DeliveryLedger(store).claim("slack", "b")
    assert purge_at(1)["deliveries"] == 0
    assert purge_at(3)["deliveries"] == 2
    assert DeliveryLedger(store).claim("slack", "a") is True


def test_a_failed_statement_does_not_show_its_bound_values(store: Store) -> None:
    table = SharedValueRow.__table__
    row = {"name": "note", "value": "HKID A123456(7)", "updated_at": datetime.now(UTC)}
    with store.engine.begin() as connection:
        connection.execute(sa.insert(table).values(**row))
    with pytest.raises(sa.exc.IntegrityError) as failure, store.engine.begin() as connection:
        connection.execute(sa.insert(table).values(**row))

    assert "A123456" not in str(failure.value)
    assert "parameters hidden" in str(failure.value)
