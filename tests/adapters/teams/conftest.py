"""The Emulator pattern: the real aiohttp server and CloudAdapter, no app id, on loopback.

Activities from ``tests/fixtures/teams`` are posted to ``/api/messages`` with their
``serviceUrl`` pointing at :class:`FakeConnector`, which records what the bot sends back.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters import teams
from adapters.server import ServerContext, create_app
from adapters.teams.endpoint import TeamsRuntime
from adapters.teams.settings import TeamsSettings
from bot.answering.engine import Engine
from bot.assembly import build_assistant
from bot.assistant import Assistant
from bot.store import open_store
from tests.adapters.teams.fake_connector import FakeConnector

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "teams"
BOT_ID = "28:0c5e2f1a-9b8d-4e7f-a6c5-3d2b1a0f9e8d"
ADMIN_AAD_ID = "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b"
_ids = itertools.count(1)


def activity(fixture: str, /, **overrides: Any) -> dict[str, Any]:
    """A fixture activity with a fresh id (unless given) and the given top-level fields."""
    data = copy.deepcopy(json.loads((FIXTURES / f"{fixture}.json").read_text()))
    data["id"] = f"{data['id']}-{next(_ids)}"
    data.update(overrides)
    return data


@dataclass
class TeamsHarness:
    client: TestClient
    connector: FakeConnector
    context: ServerContext

    @property
    def runtime(self) -> TeamsRuntime:
        return self.context.extras["teams"]

    @property
    def assistant(self) -> Assistant:
        return self.context.assistant

    async def post_and_deliver(
        self, data: dict[str, Any], headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """Post, then wait for the notifications the core delivers in the background."""
        result = await self.post(data, headers)
        await self.assistant.flush_notifications()
        return result

    async def close(self) -> None:
        await self.client.close()
        await self.assistant.flush_notifications()
        self.assistant.store.close()

    async def post(
        self, data: dict[str, Any], headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        data = {**data, "serviceUrl": self.connector.url}
        response = await self.client.post("/api/messages", json=data, headers=headers)
        result = response.status, await response.read()
        # Questions are answered after the acknowledgement: wait for those replies too.
        await self.answers_sent()
        return result

    async def answers_sent(self) -> None:
        later = self.runtime.bot.later
        if later is not None:
            await later.drain()


@pytest.fixture
async def connector() -> AsyncIterator[FakeConnector]:
    fake = FakeConnector()
    await fake.start()
    yield fake
    await fake.close()


async def start_harness(
    engine: Engine,
    connector: FakeConnector,
    settings: TeamsSettings,
    data_dir: Path,
) -> TeamsHarness:
    """The server on loopback, with its own store and data folder in ``data_dir``."""
    core = engine.settings.model_copy(update={"data_dir": data_dir})
    assistant = build_assistant(engine, store=open_store(core))
    context = ServerContext(settings=core, engine=engine, assistant=assistant)
    app = create_app(context, [partial(teams.setup, settings=settings)])
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return TeamsHarness(client=client, connector=connector, context=context)


@pytest.fixture
async def harness(
    engine: Engine, connector: FakeConnector, tmp_path: Path
) -> AsyncIterator[TeamsHarness]:
    settings = TeamsSettings(_env_file=None, app_id=None, admins=frozenset({ADMIN_AAD_ID}))
    started = await start_harness(engine, connector, settings, tmp_path)
    yield started
    await started.close()
