"""Store fixtures for the hand-off tests, on every backend in ``tests.databases.BACKENDS``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.handoff.lifecycle import SupportQueue
from bot.handoff.ports import Reporter
from bot.handoff.submissions import Handoff
from bot.settings import Settings
from bot.store import Store, open_store
from tests.bot.fakes import FakeClock
from tests.databases import database_url, postgres_url  # noqa: F401 - fixtures


@pytest.fixture
def store_settings(database_url: str, tmp_path: Path) -> Settings:  # noqa: F811
    return Settings(data_dir=tmp_path / "data", database_url=database_url, _env_file=None)


@pytest.fixture
def store(store_settings: Settings) -> Iterator[Store]:
    opened = open_store(store_settings)
    yield opened
    opened.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def handoff(store: Store, store_settings: Settings, clock: FakeClock) -> Handoff:
    return Handoff(store, store_settings, clock=clock)


@pytest.fixture
def queue(store: Store, store_settings: Settings, clock: FakeClock) -> SupportQueue:
    return SupportQueue(store, store_settings, clock=clock)


@pytest.fixture
def reporter() -> Reporter:
    return Reporter(platform="slack", user_id="U123", conversation_ref="D123", display_name="Mei")
