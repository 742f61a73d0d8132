"""Store fixtures for the CLI tests: the commands run against each backend's database."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings
from tests.databases import database_url, postgres_url  # noqa: F401 - fixtures


@pytest.fixture
def cli_settings(
    database_url: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Settings:
    """The environment ``policybot`` reads, pointed at a fresh database; and those settings."""
    monkeypatch.setenv("POLICYBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("POLICYBOT_DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    return Settings(_env_file=None)
