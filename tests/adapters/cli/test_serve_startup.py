"""``policybot serve`` refuses to start on bad configuration, and says what to fix.

Each check runs before the server listens (and, for the database and the Chroma server,
before seconds of model loading): an unreachable Chroma server or database, a database
without the schema while auto-migration is off, an index built with another model.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from adapters.cli import EXIT_USAGE, main, serve
from bot.answering.engine import build_engine
from bot.errors import KnowledgeIndexError
from bot.settings import Settings
from bot.store import open_store
from knowledge.embedding import Embedder


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A clean environment on a fresh data folder, with no platform credentials."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("POLICYBOT_DATA_DIR", str(tmp_path / "data"))
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name in ("POLICYBOT_CHROMA_URL", "POLICYBOT_DATABASE_URL", "POLICYBOT_AUTO_MIGRATE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def serve_fails(capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["serve", "--port", str(unused_port())]) == EXIT_USAGE
    return capsys.readouterr().err


def test_an_unreachable_chroma_server_is_named_with_the_setting(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.setenv("POLICYBOT_CHROMA_URL", f"http://127.0.0.1:{unused_port()}")

    error = serve_fails(capsys)

    assert "cannot reach the Chroma server" in error
    assert "POLICYBOT_CHROMA_URL" in error


def test_an_unreachable_database_is_named_with_the_setting(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.setenv(
        "POLICYBOT_DATABASE_URL", f"postgresql+psycopg://postgres@127.0.0.1:{unused_port()}/test"
    )

    error = serve_fails(capsys)

    assert "cannot reach the database" in error
    assert "POLICYBOT_DATABASE_URL" in error


def test_a_database_without_the_schema_asks_for_the_upgrade_command(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    environment.setenv("POLICYBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    environment.setenv("POLICYBOT_AUTO_MIGRATE", "false")

    error = serve_fails(capsys)

    assert "has no policybot schema" in error
    assert "run `policybot db upgrade`" in error

    assert main(["db", "upgrade"]) == 0
    settings = Settings(_env_file=None)
    assert settings.auto_migrate is False
    open_store(settings).close()


class OtherModel(Embedder):
    name, dimension = "some/other-model", 8

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return np.ones((len(texts), 8), dtype=np.float32) / np.sqrt(8)


def test_an_index_built_with_another_model_is_refused_at_start_up(
    environment: pytest.MonkeyPatch, embedder: Embedder
) -> None:
    settings = Settings(_env_file=None)
    build_engine(settings, embedder=OtherModel()).ingest()

    with pytest.raises(KnowledgeIndexError) as refused:
        serve.build_context(settings, embedder=embedder)

    message = str(refused.value)
    assert "'some/other-model' (8 dimensions)" in message
    assert "run `policybot ingest`" in message and "POLICYBOT_EMBEDDING_MODEL" in message
