"""The web console on the real engine: an aiohttp test client, accounts, CSRF tokens.

Each test gets its own database (a SQLite file in its temporary folder) and shares the
session's ingested engine; tests that change the index build their own engine.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters import web as console_adapter
from adapters.server import ServerContext, create_app
from adapters.web.accounts import Role
from adapters.web.console import Console
from adapters.web.settings import WebSettings
from bot.answering.engine import Engine
from bot.assembly import build_assistant

PASSWORD = "a-long-enough-password"
_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


@dataclass
class ConsoleHarness:
    client: TestClient
    context: ServerContext

    @property
    def console(self) -> Console:
        return self.context.extras["web_console"]

    async def csrf(self, path: str = "/console/") -> str:
        response = await self.client.get(path)
        match = _CSRF.search(await response.text())
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def add_user(self, name: str, role: Role, password: str = PASSWORD) -> None:
        self.console.accounts.add_user(name, role, password)

    async def sign_in(self, name: str, password: str = PASSWORD) -> int:
        token = await self.csrf("/console/signin")
        response = await self.client.post(
            "/console/signin",
            data={"name": name, "password": password, "csrf_token": token},
            allow_redirects=False,
        )
        return response.status

    async def post(self, path: str, data: dict[str, str] | None = None, **kwargs):
        token = await self.csrf()
        return await self.client.post(path, data={**(data or {}), "csrf_token": token}, **kwargs)


StartConsole = Callable[..., Awaitable[ConsoleHarness]]


@pytest.fixture
async def start_console(tmp_path: Path, engine: Engine) -> AsyncIterator[StartConsole]:
    clients: list[TestClient] = []

    async def start(
        *, engine_: Engine | None = None, web: WebSettings | None = None, **settings: object
    ) -> ConsoleHarness:
        shared = engine_ or engine
        core = shared.settings.model_copy(update={"data_dir": tmp_path / "data", **settings})
        # The same model and index, with this test's settings (its own database).
        used = dataclasses.replace(shared, settings=core)
        context = ServerContext(settings=core, engine=used, assistant=build_assistant(used))
        web_settings = web or WebSettings(_env_file=None)

        def setup(app, ctx):
            console_adapter.setup(app, ctx, settings=web_settings)

        client = TestClient(TestServer(create_app(context, [setup])))
        await client.start_server()
        clients.append(client)
        return ConsoleHarness(client=client, context=context)

    yield start
    for client in clients:
        await client.close()


@pytest.fixture
async def console(start_console: StartConsole) -> ConsoleHarness:
    return await start_console()


@pytest.fixture
def own_engine(engine: Engine, make_engine, sources: Path, tmp_path: Path) -> Engine:
    """An engine over a private copy of the sources, its index copied from the session's
    (chunk ids are relative to the source folder, so the copy is already up to date)."""
    shutil.copytree(engine.settings.resolved_index_dir, tmp_path / "data" / "index")
    return make_engine(sources=[sources])
