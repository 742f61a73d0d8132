"""Who may reach /api/messages and where replies may go, without and with credentials."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from botbuilder.schema import Activity

from adapters import teams
from adapters.cli.serve import enabled_adapters
from adapters.server import CONTEXT_KEY, ServerContext, create_app
from adapters.teams.endpoint import LISTEN_HOST_KEY
from adapters.teams.settings import TeamsSettings
from adapters.teams.support import SupportChannel
from bot.answering.engine import Engine
from bot.assembly import build_assistant
from bot.store import open_store
from bot.store.values import SharedValues
from tests.adapters.teams.conftest import ADMIN_AAD_ID, TeamsHarness, activity
from tests.adapters.teams.fake_connector import FakeConnector

CHANNEL = "19:8f3c2b1a0e9d4c7b6a5f4e3d2c1b0a9f@thread.tacv2"


@pytest.fixture
async def serve(engine: Engine, tmp_path: Path) -> AsyncIterator:
    clients: list[TestClient] = []
    stores = []

    async def start(settings: TeamsSettings, *, listen_host: str) -> TestClient:
        core = engine.settings.model_copy(update={"data_dir": tmp_path})
        store = open_store(core)
        stores.append(store)
        context = ServerContext(
            settings=core, engine=engine, assistant=build_assistant(engine, store=store)
        )
        context.extras[LISTEN_HOST_KEY] = listen_host
        app = create_app(context, [partial(teams.setup, settings=settings)])
        client = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.close()
    for store in stores:
        store.close()


async def test_emulator_mode_on_a_public_address_is_refused_with_the_fix(
    serve, connector: FakeConnector, caplog
):
    client = await serve(TeamsSettings(_env_file=None), listen_host="0.0.0.0")
    data = activity("personal_message", serviceUrl=connector.url)

    with caplog.at_level(logging.ERROR, logger="adapters.teams.endpoint"):
        response = await client.post("/api/messages", json=data)

    assert response.status == 401
    assert connector.calls == []
    assert (
        "MicrosoftAppId" in caplog.text and "POLICYBOT_TEAMS_ALLOW_UNAUTHENTICATED" in caplog.text
    )


async def test_explicitly_allowed_emulator_mode_warns_at_start_and_answers(
    serve, connector: FakeConnector, caplog
):
    settings = TeamsSettings(_env_file=None, allow_unauthenticated=True)
    with caplog.at_level(logging.WARNING, logger="adapters.teams.endpoint"):
        client = await serve(settings, listen_host="0.0.0.0")
    assert "WITHOUT authentication" in caplog.text

    response = await client.post(
        "/api/messages", json=activity("personal_message", serviceUrl=connector.url)
    )

    assert response.status == 201
    await client.app[CONTEXT_KEY].extras["teams"].bot.later.drain()  # answered after the ack
    assert connector.sent()


@pytest.mark.parametrize(
    "service_url",
    ["http://10.0.0.7:8000/", "http://chroma:8000/", "https://evil.example/", "file:///etc"],
)
async def test_emulator_mode_replies_only_to_a_loopback_service_url(
    harness: TeamsHarness, service_url: str
):
    data = activity("personal_message", serviceUrl=service_url)

    response = await harness.client.post("/api/messages", json=data)

    assert response.status == 403
    assert harness.connector.calls == []


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer garbage",
        "Bearer a.b.c",
        "Bearer eyJhbGciOiJSUzI1NiJ9.eyJ4IjoxfQ.c2ln",
        "Basic dXNlcjpwYXNz",
        "",
    ],
)
async def test_a_malformed_bearer_token_is_401_not_500(
    serve, connector: FakeConnector, authorization: str
):
    settings = TeamsSettings(_env_file=None, app_id="app-1", app_password="secret")
    client = await serve(settings, listen_host="0.0.0.0")

    response = await client.post(
        "/api/messages",
        json=activity("personal_message", serviceUrl=connector.url),
        headers={"Authorization": authorization},
    )

    assert response.status == 401
    assert connector.calls == []


async def test_support_channel_is_kept_in_the_shared_database(harness: TeamsHarness, tmp_path):
    data = activity("channel_mention", text="<at>PolicyBot</at> admin support-channel")
    data["from"] = {**data["from"], "aadObjectId": ADMIN_AAD_ID}

    await harness.post(data)

    other_replica = SupportChannel(
        harness.runtime.settings, SharedValues(harness.assistant.store.engine)
    )
    assert other_replica.reference().conversation.id == CHANNEL
    assert not (tmp_path / "teams").exists(), "nothing in one replica's data folder"


def test_an_unauthenticated_activity_cannot_repoint_the_support_channel(engine, tmp_path):
    store = open_store(engine.settings.model_copy(update={"data_dir": tmp_path}))
    settings = TeamsSettings(_env_file=None, support_conversation=CHANNEL)
    support = SupportChannel(settings, SharedValues(store.engine))
    try:
        forged = Activity().deserialize(
            activity("channel_mention", serviceUrl="https://attacker.example/")
        )
        support.learn(forged)
        with pytest.raises(PermissionError):
            support.set_from(forged)

        assert support.reference().service_url == settings.service_url
    finally:
        store.close()


def test_compose_without_teams_credentials_leaves_teams_unmounted(engine, monkeypatch):
    monkeypatch.delenv("MicrosoftAppId", raising=False)
    monkeypatch.delenv("POLICYBOT_TEAMS_ALLOW_UNAUTHENTICATED", raising=False)
    monkeypatch.chdir(Path(__file__).parent)  # no .env file here

    mounted = [getattr(a, "func", a) for a in enabled_adapters(engine.settings, host="0.0.0.0")]
    assert teams.setup not in mounted

    monkeypatch.setenv("MicrosoftAppId", "app-1")
    monkeypatch.setenv("MicrosoftAppPassword", "secret")
    mounted = [getattr(a, "func", a) for a in enabled_adapters(engine.settings, host="0.0.0.0")]
    assert teams.setup in mounted
