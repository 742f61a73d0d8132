"""``policybot serve`` refuses to start on bad configuration, and says what to fix.

Each check runs before the server listens (and, for the settings, the database and the
Chroma server, before seconds of model loading, with answer workers or without): an
unreachable Chroma server or database, a database without the schema while auto-migration
is off, an index folder Chroma cannot open or a pointer to a missing collection, an index
built with another model. The checks before the model close what they open, so the answer
workers' zygote still forks from a process holding no Chroma client or database connection.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from adapters.cli import EXIT_USAGE, main, serve
from bot.answering.engine import build_engine
from bot.errors import KnowledgeIndexError
from bot.settings import Settings
from bot.store import migrate, open_store
from knowledge.embedding import Embedder, model_name
from knowledge.index import make_client, write_pointer

REPO = Path(__file__).resolve().parents[3]
MODEL_LOAD_LINE = "loading the embedding model"  # logged by serve.answer_zygote


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


def test_an_index_chroma_cannot_open_is_named_with_the_setting(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    chroma = tmp_path / "data" / "index" / "chroma"
    chroma.mkdir(parents=True)
    (chroma / "chroma.sqlite3").write_bytes(b"not a database" * 100)

    error = serve_fails(capsys)

    assert f"cannot open the index in {tmp_path / 'data' / 'index'}" in error
    assert "POLICYBOT_INDEX_DIR" in error


def point_index(index_dir: Path, collection: str, *, model: str, create: bool = True) -> None:
    """An on-disk index whose pointer names ``collection`` and ``model`` (8 dimensions)."""
    client = make_client(index_dir=index_dir, chroma_url=None)
    if create:
        client.create_collection(collection)
    write_pointer(client, {"collection": collection, "model": model, "dimension": 8})
    client.close()


def test_an_index_pointing_to_a_missing_collection_asks_for_an_ingest(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(_env_file=None)
    point_index(
        settings.resolved_index_dir,
        "policy-v9",
        model=model_name(settings.embedding_model),
        create=False,
    )

    error = serve_fails(capsys)

    assert "points to collection 'policy-v9', which is missing" in error
    assert "run `policybot ingest`" in error


def threads_and_open_files(under: Path) -> tuple[set[str], list[str]]:
    """This process's threads (native ones too: ids from /proc) and its open files in
    ``under``."""
    threads = set(os.listdir("/proc/self/task"))
    files = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # the descriptor listdir itself used, closed by now
            continue
        if target.startswith(str(under)):
            files.append(target)
    return threads, files


def settled(under: Path, *, threads_within: set[str] | None = None) -> tuple[set[str], list[str]]:
    """:func:`threads_and_open_files` once nothing is open in ``under`` and no thread runs
    but ``threads_within``, or after 30 s: Chroma's SQLite worker thread closes its file
    and ends just after the client's ``close`` returns."""
    deadline = time.monotonic() + 30
    while True:
        threads, files = threads_and_open_files(under)
        done = not files and (threads_within is None or threads <= threads_within)
        if done or time.monotonic() > deadline:
            return threads, files
        time.sleep(0.01)


def test_the_checks_before_the_model_leave_nothing_open(environment: pytest.MonkeyPatch) -> None:
    settings = Settings(_env_file=None)
    point_index(
        settings.resolved_index_dir, "policy-v1", model=model_name(settings.embedding_model)
    )
    before, files = settled(settings.data_dir)
    assert files == []

    adapters = serve.check_before_loading(settings, host="127.0.0.1")

    # The database and the index were opened, then closed again: no Chroma thread and no
    # open SQLite file survives into the fork of the answer workers' zygote.
    after, files = settled(settings.data_dir, threads_within=before)
    assert files == []
    assert after <= before
    store = open_store(settings, upgrade=False)
    try:  # the checks did reach the database: they migrated the new one
        assert migrate.current_revision(store.engine) == migrate.head_revision()
    finally:
        store.close()
    assert [getattr(setup, "func", setup).__module__ for setup in adapters] == [
        "adapters.teams.endpoint",
        "adapters.web",
    ]


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            {"POLICYBOT_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:{port}/test"},
            ("cannot reach the database", "POLICYBOT_DATABASE_URL"),
        ),
        (
            {"POLICYBOT_CHROMA_URL": "http://127.0.0.1:{port}"},
            ("cannot reach the Chroma server", "POLICYBOT_CHROMA_URL"),
        ),
        ({"SLACK_BOT_TOKEN": "xoxb-1-2-3"}, ("SLACK_SIGNING_SECRET is not set",)),
    ],
    ids=["database", "chroma", "slack"],
)
def test_serve_with_workers_stops_on_a_wrong_setting_before_loading_the_model(
    tmp_path: Path, setting: dict[str, str], message: tuple[str, ...]
) -> None:
    error = serve_with_workers_fails(tmp_path, setting)

    assert all(part in error for part in message), error


def test_serve_with_workers_stops_on_an_index_of_another_model_before_loading_the_model(
    tmp_path: Path,
) -> None:
    point_index(tmp_path / "data" / "index", "policy-v1", model="some/other-model")

    error = serve_with_workers_fails(tmp_path, {})

    assert "built with embedding model 'some/other-model' (8 dimensions)" in error
    assert "run `policybot ingest`" in error and "POLICYBOT_EMBEDDING_MODEL" in error


def serve_with_workers_fails(tmp_path: Path, setting: dict[str, str]) -> str:
    """Run ``policybot serve --workers 2`` with ``setting`` (``{port}``: a closed port) on a
    data folder in ``tmp_path``; its error message, once it has exited with the usage code
    without loading the model."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("POLICYBOT_", "SLACK_", "Microsoft"))
    }
    env.update(
        {key: value.format(port=unused_port()) for key, value in setting.items()},
        POLICYBOT_DATA_DIR=str(tmp_path / "data"),
        POLICYBOT_LOG_LEVEL="INFO",
        PYTHONPATH=str(REPO),
    )

    served = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "serve", "--port", str(unused_port())]
        + ["--workers", "2"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert served.returncode == EXIT_USAGE, served.stderr[-3000:]
    # The workers path logs this line before loading the model (test_serve_workers.py sees it).
    assert MODEL_LOAD_LINE not in served.stderr
    return served.stderr.partition("policybot: ")[2]  # the message, over one line or more
