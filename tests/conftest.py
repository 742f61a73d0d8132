"""Shared fixtures: the real embedding model and a real on-disk index of the bundled sources.

Loading the model and embedding the sources take seconds, so both are session-scoped;
tests that change an index build their own from a copy of the sources.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.answering.engine import Engine, build_engine
from bot.settings import BUNDLED_SOURCES, Settings
from knowledge.embedding import Embedder, SentenceTransformerEmbedder


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return SentenceTransformerEmbedder("all-MiniLM-L6-v2")


@pytest.fixture(scope="session")
def engine(embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """An engine over the bundled sources, ingested once per session. Do not re-ingest it."""
    data_dir = tmp_path_factory.mktemp("engine-data")
    built = build_engine(Settings(data_dir=data_dir, _env_file=None), embedder=embedder)
    report = built.ingest()
    assert report.failed == []
    return built


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    """A private, editable copy of the bundled sources."""
    target = tmp_path / "sources"
    shutil.copytree(BUNDLED_SOURCES, target)
    return target


@pytest.fixture
def make_engine(embedder: Embedder, tmp_path: Path):
    """Build an engine on a fresh data folder (index empty until ingested)."""

    def build(**overrides: object) -> Engine:
        settings = Settings(data_dir=tmp_path / "data", _env_file=None, **overrides)
        return build_engine(settings, embedder=embedder)

    return build
